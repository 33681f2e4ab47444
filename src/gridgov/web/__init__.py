"""The workspace: server-rendered Chinese pages (Jinja2 templates, Bootstrap from the pinned npm copy) over the
same services the API and the CLI use. ``pages/`` holds the routes, ``templates/`` and ``static/`` the rest.

The grid editor's own files (editor.html/js/css) sit beside this package's modules for now."""
