"""The vocabularies a street extends (网格工作人员角色、户籍类型、人员标签、事件类别) over HTTP: read them as in
force, and (administrators) add a term, add synonyms to a term, stop a term the street added."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from gridgov.api.dependencies import AdminDep, SessionDep, ViewerDep
from gridgov.api.routes.records import Text
from gridgov.terms import BUILT_IN, VocabularyListing, add_synonyms, add_term, all_listings, listing, retire_term
from gridgov.vocab import CONFIGURABLE

router = APIRouter(prefix="/api/vocab", tags=["词表"])

NAME_HELP = "词表：" + "、".join(f"{n}（{BUILT_IN[n].label}）" for n in CONFIGURABLE)
NamePath = Annotated[Text, Path(description=NAME_HELP)]
# A term may hold a "/" (e.g. 医护/保健员): the path converter keeps it whole.
TermPath = Annotated[Text, Path(description="词条")]


class VocabTermPublic(BaseModel):
    """A term as in force: where it comes from, its synonyms and, for staff roles, whether boards show it."""

    term: str
    builtin: bool = Field(description="内置词条（否：本街道添加，可停用）")
    public: bool | None = Field(description="在公示牌上显示（仅网格工作人员角色；其余词表为 null）")
    synonyms: list[str] = Field(description="全部同义词：内置的在前，本街道添加的在后")
    added_synonyms: list[str] = Field(description="其中本街道添加的同义词")


class VocabularyTermsPublic(BaseModel):
    """A configurable vocabulary as in force, its terms in order."""

    name: str
    label: str
    terms: list[VocabTermPublic]


class VocabTermCreate(BaseModel):
    """A new term, with its synonyms and (staff roles only) whether boards show it."""

    model_config = ConfigDict(extra="forbid")
    term: Text = Field(description="词条（1–16 个字符，不含逗号、分号、顿号）")
    synonyms: list[Text] = Field(default=[], max_length=50, description="同义词")
    public: bool | None = Field(default=None, description="在公示牌上显示（仅网格工作人员角色；默认否）")


class SynonymsCreate(BaseModel):
    """More spellings of an existing term."""

    model_config = ConfigDict(extra="forbid")
    synonyms: list[Text] = Field(min_length=1, max_length=50, description="同义词")


def _public(v: VocabularyListing) -> VocabularyTermsPublic:
    return VocabularyTermsPublic.model_validate(asdict(v))


@router.get("", response_model=list[VocabularyTermsPublic], summary="可维护的词表（含本街道添加的词条与同义词）")
def list_vocabularies(session: SessionDep, who: ViewerDep) -> list[VocabularyTermsPublic]:
    """Staff roles, household kinds, resident tags and incident categories as in force."""
    return [_public(v) for v in all_listings(session)]


@router.post("/{name}/terms", response_model=VocabularyTermsPublic, status_code=status.HTTP_201_CREATED,
             summary="添加词条（系统管理员）", response_description="添加后的词表")  # fmt: skip
def create_term(session: SessionDep, who: AdminDep, name: NamePath, body: VocabTermCreate) -> VocabularyTermsPublic:
    """Add a term with its synonyms; files and forms accept it (and its synonyms) from now on."""
    stored = add_term(session, who, name, body.term, synonyms=tuple(body.synonyms), public=body.public)
    return _public(listing(stored))


@router.post("/{name}/terms/{term:path}/synonyms", response_model=VocabularyTermsPublic,
             summary="为词条添加同义词（系统管理员）", response_description="添加后的词表")  # fmt: skip
def create_synonyms(session: SessionDep, who: AdminDep, name: NamePath, term: TermPath, body: SynonymsCreate
                    ) -> VocabularyTermsPublic:  # fmt: skip
    """Accept more spellings of a term (built-in or added)."""
    return _public(listing(add_synonyms(session, who, name, term, tuple(body.synonyms))))


@router.delete("/{name}/terms/{term:path}", response_model=VocabularyTermsPublic,
               summary="停用本街道添加的词条（系统管理员）", response_description="停用后的词表")  # fmt: skip
def stop_term(session: SessionDep, who: AdminDep, name: NamePath, term: TermPath) -> VocabularyTermsPublic:
    """Stop offering a term the street added (records that use it keep it; built-in terms cannot be stopped)."""
    return _public(listing(retire_term(session, who, name, term)))
