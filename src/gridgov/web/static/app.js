/* gridgov workspace: small progressive enhancements, no framework.
 * - [data-job] elements poll /api/jobs/<id> and show progress, then the download link or the error.
 * - forms with [data-confirm] ask before submitting.
 */
(function () {
  'use strict';
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }
  window.gridgovCsrf = csrf;

  function pollJob(el) {
    var id = el.getAttribute('data-job');
    var bar = el.querySelector('.progress-bar');
    var msg = el.querySelector('[data-job-message]');
    var done = el.querySelector('[data-job-done]');
    function tick() {
      fetch('/api/jobs/' + id, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          if (!res.ok) { msg.textContent = res.body.detail || '查询任务失败'; return; }
          var j = res.body;
          var pct = Math.round((j.progress || 0) * 100);
          bar.style.width = pct + '%';
          bar.textContent = pct + '%';
          bar.setAttribute('aria-valuenow', String(pct));
          msg.textContent = j.message || j.status_zh || '';
          if (j.status === 'done') {
            bar.classList.add('bg-success');
            if (done) { done.hidden = false; }
            var link = el.querySelector('[data-job-download]');
            if (link && j.download_url) {
              link.href = j.download_url;
              link.textContent = '下载 ' + (j.result_name || '文件');
              link.hidden = false;
            }
            if (j.result_html_url) { window.location.href = j.result_html_url; }
          } else if (j.status === 'failed') {
            bar.classList.add('bg-danger');
            msg.textContent = '失败：' + (j.error || '');
          } else {
            setTimeout(tick, 700);
          }
        })
        .catch(function () { msg.textContent = '与服务器的连接中断，稍后自动重试…'; setTimeout(tick, 2000); });
    }
    tick();
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('[data-job]'), pollJob);
    Array.prototype.forEach.call(document.querySelectorAll('form[data-confirm]'), function (f) {
      f.addEventListener('submit', function (ev) {
        if (!window.confirm(f.getAttribute('data-confirm'))) { ev.preventDefault(); }
      });
    });
  });
})();
