"""The vocabularies an administrator may extend (gridgov.vocab.CONFIGURABLE), read from and kept in ``vocab_term``.

A vocabulary here is its built-in terms and synonyms (gridgov.vocab) plus what the street added: new terms (with
their synonyms, and for staff roles whether they are public, shown on boards) and new synonyms of any term. Files
and forms give a synonym or a term; the canonical term is stored; an unknown word is refused with the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridgov.auth.scope import Actor, authorize
from gridgov.errors import Conflict, InvalidInput, NotFound
from gridgov.vocab import (
    CONFIGURABLE,
    HOUSEHOLD_KINDS,
    INCIDENT_CATEGORIES,
    INCIDENT_SUBCATEGORIES,
    PERSON_TAGS,
    PUBLIC_STAFF_ROLES,
    STAFF_ROLES,
    Vocabulary,
)

BUILT_IN = {v.name: v for v in (STAFF_ROLES, HOUSEHOLD_KINDS, PERSON_TAGS, INCIDENT_CATEGORIES, INCIDENT_SUBCATEGORIES)}
MAX_TERM = 16

_TERMS = text("""SELECT term, synonyms, public, builtin FROM vocab_term
                  WHERE vocabulary = :v AND retired_at IS NULL ORDER BY position, term""")


@dataclass(frozen=True)
class StoredVocabulary:
    """A configurable vocabulary as in force: its words, and which staff roles are public."""

    vocabulary: Vocabulary
    public: frozenset[str]
    added: frozenset[str]  # terms the street added (the rest are built in)

    def canonical(self, value: str) -> str:
        """The term a word stands for, or ``InvalidInput`` listing the accepted terms."""
        term = self.vocabulary.canonical(value)
        if term is None:
            raise InvalidInput(f"未知的{self.vocabulary.label}：{value}（可选：{'、'.join(self.vocabulary.terms)}）")
        return term


def _known(name: str) -> Vocabulary:
    if name not in CONFIGURABLE:
        raise InvalidInput(f"未知的词表：{name}（可维护的词表：{'、'.join(BUILT_IN[n].label for n in CONFIGURABLE)}）")
    return BUILT_IN[name]


def stored_vocabulary(session: Session, name: str) -> StoredVocabulary:
    """The vocabulary ``name`` with the street's additions (one query)."""
    base = _known(name)
    rows = session.execute(_TERMS, {"v": name}).all()
    synonyms = dict(base.synonyms)
    for r in rows:
        synonyms.update(dict.fromkeys(r.synonyms or (), r.term))
    terms = tuple(r.term for r in rows) or base.terms
    public = frozenset(r.term for r in rows if r.public) | frozenset(t for t in PUBLIC_STAFF_ROLES if t in terms)
    added = frozenset(r.term for r in rows if not r.builtin)
    return StoredVocabulary(Vocabulary(base.name, base.label, terms, base.labels, synonyms), public, added)


@dataclass(frozen=True)
class TermListing:
    """A term as in force: where it comes from, its synonyms (built-in first) and, for staff roles, whether
    boards show it."""

    term: str
    builtin: bool
    public: bool | None
    synonyms: list[str]
    added_synonyms: list[str]


@dataclass(frozen=True)
class VocabularyListing:
    """A configurable vocabulary as in force, its terms in order (what pages, the CLI and the API show)."""

    name: str
    label: str
    terms: list[TermListing]


def listing(stored: StoredVocabulary) -> VocabularyListing:
    """A vocabulary as in force, term by term, with built-in and added synonyms told apart."""
    v = stored.vocabulary
    built_in = BUILT_IN[v.name].synonyms
    by_term: dict[str, list[str]] = {t: [] for t in v.terms}
    for word, term in v.synonyms.items():  # the built-in ones come first (stored_vocabulary merges them so)
        if term in by_term:
            by_term[term].append(word)
    staff = v.name == "staff_roles"
    terms = [TermListing(t, t not in stored.added, (t in stored.public) if staff else None, words,
                         [w for w in words if w not in built_in]) for t, words in by_term.items()]  # fmt: skip
    return VocabularyListing(v.name, v.label, terms)


def all_listings(session: Session) -> list[VocabularyListing]:
    """Every configurable vocabulary as in force, in the order of gridgov.vocab.CONFIGURABLE."""
    return [listing(stored_vocabulary(session, name)) for name in CONFIGURABLE]


def _clean(word: str, what: str) -> str:
    word = (word or "").strip()
    if not word or len(word) > MAX_TERM or any(c in word for c in ",，;；、\n\t"):
        raise InvalidInput(f"{what}应为 1–{MAX_TERM} 个字符，不含逗号、分号、顿号：{word}")
    return word


def add_term(session: Session, actor: Actor, name: str, term: str, *, synonyms: tuple[str, ...] = (),
             public: bool | None = None) -> StoredVocabulary:  # fmt: skip
    """Add a term (and its synonyms) to a configurable vocabulary; administrators only."""
    authorize(session, actor, "admin", anywhere=True)
    current = stored_vocabulary(session, name)
    if public is not None and name != "staff_roles":  # it would be ignored: say so
        raise InvalidInput(f"只有{BUILT_IN['staff_roles'].label}有“在公示牌显示”的设置")
    term = _clean(term, "词条")
    if current.vocabulary.canonical(term) is not None:
        raise Conflict(f"「{term}」已在{current.vocabulary.label}中（即「{current.vocabulary.canonical(term)}」）")
    words = _new_synonyms(current, synonyms)
    session.execute(text("""INSERT INTO vocab_term (vocabulary, term, position, synonyms, public, created_by)
                            SELECT CAST(:v AS varchar), :t, coalesce(max(position), 0) + 1, :s, :p, :by
                              FROM vocab_term WHERE vocabulary = CAST(:v AS varchar)
                            ON CONFLICT (vocabulary, term) DO UPDATE  -- a term stopped earlier comes back
                               SET retired_at = NULL, synonyms = EXCLUDED.synonyms, public = EXCLUDED.public,
                                   position = EXCLUDED.position, created_by = EXCLUDED.created_by
                             WHERE vocab_term.retired_at IS NOT NULL"""),
                    {"v": name, "t": term, "s": words, "p": public, "by": actor.audit_name})  # fmt: skip
    return stored_vocabulary(session, name)


def _new_synonyms(current: StoredVocabulary, synonyms: tuple[str, ...]) -> list[str]:
    words = [_clean(s, "同义词") for s in synonyms if s and s.strip()]
    taken = [w for w in words if current.vocabulary.canonical(w) is not None]
    if taken:
        raise Conflict(f"同义词已被使用：{'、'.join(taken)}")
    return list(dict.fromkeys(words))


def add_synonyms(session: Session, actor: Actor, name: str, term: str, synonyms: tuple[str, ...]) -> StoredVocabulary:
    """Accept more spellings of an existing term (e.g. a local name for a post); administrators only."""
    authorize(session, actor, "admin", anywhere=True)
    current = stored_vocabulary(session, name)
    if term not in current.vocabulary.terms:
        raise NotFound(f"{current.vocabulary.label}中没有「{term}」")
    words = _new_synonyms(current, synonyms)
    if not words:
        raise InvalidInput("请给出至少一个同义词")
    session.execute(text("UPDATE vocab_term SET synonyms = synonyms || CAST(:s AS text[]) WHERE vocabulary = :v "
                         "AND term = :t"), {"v": name, "t": term, "s": words})  # fmt: skip
    return stored_vocabulary(session, name)


def retire_term(session: Session, actor: Actor, name: str, term: str) -> StoredVocabulary:
    """Stop offering a term the street added (records keep it); built-in terms stay."""
    authorize(session, actor, "admin", anywhere=True)
    current = stored_vocabulary(session, name)
    if term not in current.added:
        raise InvalidInput(f"只能停用本街道添加的词条；「{term}」是内置词条或不存在")
    session.execute(text("UPDATE vocab_term SET retired_at = now() WHERE vocabulary = :v AND term = :t"),
                    {"v": name, "t": term})  # fmt: skip
    return stored_vocabulary(session, name)
