"""The documentation links nothing outside the repository, and its requirements
page is complete.

Every Markdown link in README.md, docs/**/*.md, examples/**/*.md and
plugins/**/README.md must resolve to a file or folder inside the repository,
and a link to ``file.md#anchor`` to a heading or an explicit anchor of that
file, with GitHub's rule for heading anchors.  The README has no link at all
(it is also the package index's page, where a relative link leads nowhere) and
names nothing outside the repository; the other pages keep only the external
links they already had.  A page in docs/ links only within docs/, so that its
links also work on the documentation site (mkdocs.yml).

docs/requirements.md holds an entry for every requirement id, each with its
status; every id cited in the code, the tests and the docs has an entry there,
and what an entry names (files, anchors, test functions, commands, classes,
functions) exists.  The ids are read from the page, not from a list here.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import attrs
import pytest

import klagomal
from klagomal.cli import _build_parser

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS_PAGE = REPO / "docs" / "requirements.md"

#: Build output and tool folders: not documentation of the repository.
_NOT_SOURCES = {"build", "dist", ".tox", ".venv", "venv", "node_modules", "__pycache__", ".git"}

#: The external links the documentation had when this test was written; a new
#: one is a decision, not an accident.  README.md has none and gets none.
KNOWN_EXTERNAL_LINKS = {
    ("examples/webform/README.md", "http://127.0.0.1:5000/"),
    ("plugins/klagomal-sms/README.md", "https://46elks.se/docs/send-sms"),
}

STATUSES = ("built", "partly built", "not built", "not assigned")


def _is_source(path: Path) -> bool:
    parts = path.relative_to(REPO).parts
    return not any(p in _NOT_SOURCES or p.endswith(".egg-info") for p in parts)


def markdown_files() -> list[Path]:
    """The Markdown files a reader of the repository follows links in."""
    files = [
        REPO / "README.md",
        *sorted((REPO / "docs").rglob("*.md")),
        *sorted((REPO / "examples").rglob("*.md")),
        *sorted((REPO / "plugins").rglob("README.md")),
    ]
    return [f for f in files if f.is_file() and _is_source(f)]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


# -- reading Markdown ---------------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            else:
                yield number, line
        elif (
            match
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line.strip().strip(fence[0])
        ):
            fence = None


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_EXPLICIT_ANCHOR = re.compile(r"""<a\s[^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lower-cased, punctuation
    removed (letters such as å, ä and ö kept), spaces turned into '-'."""
    pieces = []
    for i, piece in enumerate(re.split(r"(`+[^`]*`+)", heading)):
        if i % 2:  # a code span: its text as it is
            pieces.append(piece.strip("`"))
            continue
        piece = re.sub(r"<[^>]+>", "", piece)  # inline HTML
        piece = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", piece)  # a link: its text
        piece = re.sub(r"\*+|(?<!\w)_+|_+(?!\w)", "", piece)  # emphasis
        pieces.append(piece)
    text = "".join(pieces).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor a link into *path* may name: heading slugs (repeats
    numbered as GitHub does) and explicit ``<a id>`` / ``<a name>`` anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        found.update(_EXPLICIT_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if match:
            slug = github_slug(match.group(2) or "")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
    r"""(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)"""
)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>")
_BARE_URL = re.compile(r"(?<![\w/])(?:https?://|www\.)[^\s<>]*[^\s<>.,:;\"')\]*_~]")
_HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@attrs.frozen
class Link:
    source: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{_rel(self.source)}:{self.line}: {self.target}"

    @property
    def external(self) -> bool:
        return bool(re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:|//|www\.", self.target))


def links(path: Path) -> list[Link]:
    """Every link in *path*: inline links and images, reference definitions,
    autolinks, bare URLs (GitHub links them too) and HTML ``href``/``src``;
    none from code blocks or code spans."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        line = _CODE_SPAN.sub("code", line)
        targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
        rest = _INLINE_LINK.sub(" ", line)
        if definition := _REFERENCE_DEFINITION.match(rest):
            targets.append(definition.group(1))
            rest = ""
        targets += _AUTOLINK.findall(rest)
        targets += _HTML_TARGET.findall(rest)
        rest = _HTML_TARGET.sub(" ", _AUTOLINK.sub(" ", rest))
        targets += _BARE_URL.findall(rest)
        found += [Link(path, number, t.strip().removeprefix("<").removesuffix(">")) for t in targets]
    return found


def problem(link: Link, root: Path = REPO) -> str | None:
    """Why a relative link does not work in the repository at *root*, or None."""
    path, _, anchor = link.target.partition("#")
    path, anchor = unquote(path), unquote(anchor)
    if path.startswith("/"):
        return "an absolute path; write it relative to the file"
    target = (link.source.parent / path).resolve() if path else link.source
    if not target.is_relative_to(root):
        return "leaves the repository"
    if not target.exists():
        return "no such file or folder in the repository"
    if anchor:
        if target.suffix == ".md":
            if anchor not in anchors(target):
                return f"no heading or anchor '{anchor}' in {target.relative_to(root).as_posix()}"
        elif not re.fullmatch(r"L\d+(-L\d+)?", anchor):
            return f"an anchor '{anchor}' into a file that is not Markdown"
    return None


# -- the links ----------------------------------------------------------------------------------


def test_the_pages_checked_are_the_documentation() -> None:
    checked = {_rel(f) for f in markdown_files()}
    assert {"README.md", "docs/index.md", "docs/requirements.md", "plugins/README.md"} <= checked


@pytest.mark.parametrize("path", markdown_files(), ids=_rel)
def test_every_relative_link_resolves_inside_the_repository(path: Path) -> None:
    broken = [f"{link}: {why}" for link in links(path) if not link.external if (why := problem(link))]
    assert not broken, "\n".join(broken)


#: A code span naming a path of the repository: the README and the docs name the
#: repository's files this way, not by a link (which the package index's page and
#: the docs site could not follow).
_REPO_PATH = re.compile(
    r"(?:src/klagomal|tests|docs|examples|plugins|bench)/[\w./-]*|LICENSE|pyproject\.toml"
)


def repository_paths(path: Path) -> list[tuple[int, str]]:
    """(line number, path) of each code span of *path* that names a file or folder of the repository."""
    return [
        (number, span.group(2).strip())
        for number, line in prose_lines(path.read_text(encoding="utf-8"))
        for span in _CODE_SPAN.finditer(line)
        if _REPO_PATH.fullmatch(span.group(2).strip())
    ]


@pytest.mark.parametrize(
    "path", [f for f in markdown_files() if not f.is_relative_to(REPO / "plugins")], ids=_rel
)
def test_every_repository_path_named_exists(path: Path) -> None:
    # A plugin's README names paths inside its own package; the other pages, the repository's.
    missing = [
        f"{_rel(path)}:{n}: {named}" for n, named in repository_paths(path) if not (REPO / named).exists()
    ]
    assert missing == []


def test_a_docs_page_links_only_within_docs() -> None:
    # The docs site (mkdocs.yml) holds docs/ only: a link out of it is a broken link there.
    # Name a file of the repository as a code path instead.
    docs = REPO / "docs"
    outside = [
        str(link)
        for f in markdown_files()
        if f.is_relative_to(docs)
        for link in links(f)
        if not link.external
        and not ((f.parent / unquote(link.target.partition("#")[0])).resolve().is_relative_to(docs))
    ]
    assert outside == []


def test_no_page_gained_an_external_link() -> None:
    external = {
        (_rel(link.source), link.target) for f in markdown_files() for link in links(f) if link.external
    }
    assert external <= KNOWN_EXTERNAL_LINKS, sorted(external - KNOWN_EXTERNAL_LINKS)


def test_the_readme_names_nothing_outside_the_repository() -> None:
    readme = REPO / "README.md"
    # No link at all: the README is also the package index's page, where a relative
    # link leads nowhere and an absolute one would leave the repository.  The pages
    # are named as code paths (`docs/cli.md`).
    assert [str(link) for link in links(readme)] == []
    # Not even as text or in an example: a reader of the package has only the package.
    text = readme.read_text(encoding="utf-8")
    assert [m.group(0) for m in re.finditer(r"https?://\S*|(?<![\w.])\.\./\S*", text)] == []


def test_the_readme_names_every_docs_page() -> None:
    # Without links, the README's list of pages is how a reader of the package finds them.
    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(docs/[\w/.-]+\.md)`", text))
    pages = {_rel(p) for p in (REPO / "docs").rglob("*.md")}
    assert sorted(pages - named) == []


def test_no_file_points_at_a_requirements_file_outside_the_repository() -> None:
    # The requirements are docs/requirements.md; the old shared file is no reader's to open.
    roots = [REPO / d for d in ("src", "tests", "docs", "examples", "plugins", "bench")]
    files = [REPO / "README.md", *(p for r in roots for p in r.rglob("*") if p.is_file() and _is_source(p))]
    stale = [
        f"{_rel(f)}:{n}"
        for f in files
        if f.suffix in {".py", ".md", ".txt", ".html", ".toml", ".rst"} and f != Path(__file__).resolve()
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"REQUIREMENTS\.md|\.\./shared/", line)
    ]
    assert stale == []


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Deadline policies per förvaltning", "deadline-policies-per-förvaltning"),
        ("`[[anvandare]]` (optional)", "anvandare-optional"),
        ("Reminders: `klagomal remind`", "reminders-klagomal-remind"),
        (
            "klagomal_notifiers(organisation: Organisation) -> Iterable[Notifier]",
            "klagomal_notifiersorganisation-organisation---iterablenotifier",
        ),
        ("A new date, told in time (R11)", "a-new-date-told-in-time-r11"),
        ("The politicians' report is a *public* document", "the-politicians-report-is-a-public-document"),
        ("`_layout.html` and [the layout](letters.md)", "_layouthtml-and-the-layout"),
        ("Kända begränsningar", "kända-begränsningar"),
    ],
)
def test_heading_anchors_follow_githubs_rule(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_the_checker_finds_what_is_broken_and_ignores_code(tmp_path: Path) -> None:
    # The checks above can fail: a repository with a page holding each kind of bad link.
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "examples").mkdir()
    (root / "docs" / "index.md").write_text("# klagomal documentation\n", encoding="utf-8")
    (tmp_path / "shared" / "domain").mkdir(parents=True)
    (tmp_path / "shared" / "domain" / "REQUIREMENTS.md").write_text("# R1\n", encoding="utf-8")
    page = root / "docs" / "page.md"
    page.write_text(
        '# Title\n\n## Same name\n\n## Same name\n\n<a id="here"></a>\n\n'
        "[ok](#same-name-1) [ok](#here) [ok](index.md#klagomal-documentation) [ok](../examples/)\n"
        "[out](../../shared/domain/REQUIREMENTS.md) [gone](nothing.md) [anchor](index.md#nowhere)\n"
        "[abs](/docs/index.md) ![img](missing.png)\n[ref]: ../../outside.md\n"
        "Bare https://example.org/x and <https://example.org/y>; `[code](../../x.md)`\n"
        "```\n[fenced](../../y.md)\n```\n",
        encoding="utf-8",
    )
    found = links(page)
    assert {link.target: problem(link, root) for link in found if not link.external} == {
        "#same-name-1": None,
        "#here": None,
        "index.md#klagomal-documentation": None,
        "../examples/": None,
        "../../shared/domain/REQUIREMENTS.md": "leaves the repository",
        "nothing.md": "no such file or folder in the repository",
        "index.md#nowhere": "no heading or anchor 'nowhere' in docs/index.md",
        "/docs/index.md": "an absolute path; write it relative to the file",
        "missing.png": "no such file or folder in the repository",
        "../../outside.md": "leaves the repository",
    }
    assert [link.target for link in found if link.external] == [
        "https://example.org/y",
        "https://example.org/x",
    ]


# -- the requirements page ----------------------------------------------------------------------

_ENTRY = re.compile(r"^### R(\d+)\b.*$", re.MULTILINE)
_CITED = re.compile(r"\bR(\d+)(?:[–-]R(\d+))?\b")


@functools.cache
def requirement_entries() -> dict[int, str]:
    """Each requirement id on the page and the text of its entry."""
    text = REQUIREMENTS_PAGE.read_text(encoding="utf-8")
    starts = list(_ENTRY.finditer(text))
    entries: dict[int, str] = {}
    for i, start in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        number = int(start.group(1))
        assert number not in entries, f"R{number} has two entries"
        entries[number] = text[start.start() : end]
    return entries


def status(number: int) -> str:
    found: list[str] = re.findall(r"^\*\*Status:\*\* (.+?)\.$", requirement_entries()[number], re.MULTILINE)
    assert len(found) == 1, f"R{number} needs exactly one '**Status:** ...' line, has {found}"
    assert found[0] in STATUSES, f"R{number}: unknown status {found[0]!r}"
    return found[0]


def citations() -> dict[int, list[str]]:
    """Every requirement id cited outside the requirements page, with where."""
    roots = [REPO / d for d in ("src", "tests", "docs", "examples", "plugins", "bench")]
    files = [REPO / "README.md", *(p for r in roots for p in sorted(r.rglob("*")) if p.is_file())]
    cited: dict[int, list[str]] = {}
    for f in files:
        if (
            f == REQUIREMENTS_PAGE
            or not _is_source(f)
            or f.suffix not in {".py", ".md", ".txt", ".html", ".toml"}
        ):
            continue
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            # A range cites its two ends: "R1–R32" does not cite an unassigned id in between.
            for first, last in _CITED.findall(line):
                for number in {int(first), int(last or first)}:
                    cited.setdefault(number, []).append(f"{_rel(f)}:{n}")
    return cited


def test_every_requirement_has_an_entry_with_its_anchor() -> None:
    entries = requirement_entries()
    assert list(entries) == list(range(1, 33))
    page_anchors = anchors(REQUIREMENTS_PAGE)
    assert [n for n in entries if f"r{n}" not in page_anchors] == []


def test_every_entry_says_how_far_it_is_built_and_the_summary_agrees() -> None:
    text = REQUIREMENTS_PAGE.read_text(encoding="utf-8")
    for number, entry in requirement_entries().items():
        row = re.search(rf"^\| \[R{number}\]\(#r{number}\) \|.*\| ([a-z ]+) \|$", text, re.MULTILINE)
        assert row, f"R{number} is missing from the summary table"
        assert row.group(1) == status(number), f"R{number}: the summary says {row.group(1)!r}"
        if status(number) == "not assigned":
            continue
        for part in ("**Routine", "**Means:**", "**klagomal:**", "**Where:**"):
            assert part in entry, f"R{number} has no {part}"
        if status(number) == "partly built":
            assert "What is missing:" in entry, f"R{number} is partly built: say what is missing"
        if status(number) in {"built", "partly built"}:
            assert "tests:" in entry, f"R{number} names no test"
            assert "`test_" in entry, f"R{number} names no test function"


def test_every_cited_requirement_has_an_entry() -> None:
    cited = citations()
    # The scan reads the code, the tests and the docs.
    assert 7 in cited
    assert 27 in cited
    entries = requirement_entries()
    unknown = {f"R{n}": where for n, where in cited.items() if n not in entries}
    assert unknown == {}
    unassigned = {
        f"R{n}": where for n, where in cited.items() if n in entries and status(n) == "not assigned"
    }
    assert unassigned == {}


def test_a_requirement_that_is_built_is_cited_by_a_test() -> None:
    tested = {
        n for n, where in citations().items() if any(w.startswith("tests/") or "/tests/" in w for w in where)
    }
    built = {n for n in requirement_entries() if status(n) in {"built", "partly built"}}
    assert sorted(built - tested) == []


# -- what an entry names exists -----------------------------------------------------------------


@functools.cache
def _defined_in(path: Path) -> frozenset[str]:
    """Function and class names defined in a Python file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


def test_every_test_named_on_the_page_is_defined_in_the_file_named_before_it() -> None:
    wrong = []
    for number, entry in requirement_entries().items():
        current: Path | None = None
        for match in re.finditer(r"`((?:tests|plugins|examples)/[\w/.-]+\.py)`|`(test_\w+)`", entry):
            if match.group(1):
                current = REPO / match.group(1)
            elif current is None or match.group(2) not in _defined_in(current):
                wrong.append(f"R{number}: {match.group(2)} in {current and _rel(current)}")
    assert wrong == []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_named_on_the_page_exists_with_its_options() -> None:
    wrong = []
    text = REQUIREMENTS_PAGE.read_text(encoding="utf-8")
    for command in re.findall(r"`klagomal ([^`]+)`", text):
        parser = _build_parser()
        words = command.split()
        if words[0] not in _subcommands(parser):
            wrong.append(command)
            continue
        options = False
        for word in words:
            if word.startswith("-"):
                options = True
                if word not in parser._option_string_actions:
                    wrong.append(f"{command}: {word}")
            elif word in _subcommands(parser):
                parser = _subcommands(parser)[word]
            elif not options:  # after an option, a word is its value
                wrong.append(f"{command}: {word}")
    assert wrong == []


def _module_of(path: str) -> object:
    module = (REPO / path).relative_to(REPO / "src")
    return importlib.import_module(".".join(module.with_suffix("").parts))


def _lookup(owner: object, dotted: str) -> bool:
    for name in dotted.split("."):
        if not hasattr(owner, name):
            return False
        owner = getattr(owner, name)
    return True


@functools.cache
def _klagomal_names() -> dict[str, object]:
    """Every public class and function of the klagomal package by name."""
    names: dict[str, object] = {}
    for info in pkgutil.walk_packages(klagomal.__path__, "klagomal."):
        if info.name.endswith(("__main__", "pytest_plugin")) or ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not name.startswith("_") and getattr(value, "__module__", None) == info.name:
                names.setdefault(name, value)
    return names


def test_every_name_of_the_code_on_the_page_exists() -> None:
    text = REQUIREMENTS_PAGE.read_text(encoding="utf-8")
    wrong = []
    names = r"((?:`[\w.]+`(?:,\s+|\s+and\s+))*`[\w.]+`)"
    link = r"`(src/[\w/.]+\.py)`"
    # "`name`, `other` and `third` in `src/.../module.py`" and "`src/.../module.py` (`name`, `other`)"
    in_module = re.findall(names + r"\s+in\s+" + link, text)
    in_module += [(spans, module) for module, spans in re.findall(link + r"\s+\(" + names + r"\)", text)]
    assert len(in_module) > 50, "the page names the code by path: `src/klagomal/.../module.py`"
    for spans, module in in_module:
        for name in re.findall(r"`([\w.]+)`", spans):
            if not _lookup(_module_of(module), name):
                wrong.append(f"{name} in {module}")
    # "`Klagomal.register`", "`Case.resolved_at_once`": a class of klagomal and its attribute.
    for owner, attribute in re.findall(r"`([A-Z]\w*)\.(\w+)`", text):
        if not _lookup(_klagomal_names().get(owner), attribute):
            wrong.append(f"{owner}.{attribute}")
    assert wrong == []
