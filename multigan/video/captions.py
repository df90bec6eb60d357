"""Video captions: optional text for each video of a folder, from captions.csv or from .txt files.

A folder of videos (see `multigan.video.data.find_videos`) may caption its videos in two ways:

- `captions.csv` at the folder's root: a header row naming the columns `file` and `caption` (other
  columns are ignored; names are matched without regard to case or surrounding spaces), then one row
  per video. `file` is the video's path relative to the root, in posix form (`sub/a.mp4`, also
  `./sub/a.mp4` or `sub\\a.mp4`), or only its file name (`a.mp4`) when exactly one video has that name.
  The file is read as UTF-8 (a BOM is fine) with the csv module, so a caption holding a comma must be
  in double quotes. Rows with an empty `file` are skipped; a later row for a video replaces an earlier one.
- a `.txt` beside a video with the same stem (`clip.mp4` -> `clip.txt`): its whole content is the caption.

Rules:

- Every caption is normalised: runs of whitespace (newlines included) become one space, and the ends
  are stripped. Case is kept (the tokenizer lowercases later). An empty caption is no caption.
- A video may have no caption: it trains unconditioned, and is counted in `uncaptioned`.
- When both sources caption a video, captions.csv wins; such videos are counted in `conflicts`.
- A captions.csv row whose `file` matches no video is not an error: the entry goes to `missing` (so
  does a bare file name that several videos share) and the caller warns.
- A captions.csv that cannot be read, is not UTF-8, is not valid CSV, lacks the `file` or `caption`
  column, or has a row with more fields than its header raises `MultiganError` (one line, naming the file).
- A .txt that cannot be read or is not UTF-8 is skipped and listed in `unreadable` as (path, reason).

`read_captions` never opens a video, only captions.csv and the .txt files. `Captions.warnings` gives
the one-line messages for the caller to print.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from multigan.core.errors import MultiganError

CAPTIONS_FILE = "captions.csv"
_MAX_NAMED = 5  # files named in one warning; past this, "..."


@dataclass
class Captions:
    """The captions of a folder's videos, and what the caller should warn about."""

    by_file: dict[str, str]  # str(video path, as given in `videos`) -> caption
    uncaptioned: int  # videos with no caption
    missing: list[str]  # captions.csv `file` entries that match no video
    conflicts: int = 0  # videos captioned by both captions.csv and a .txt (csv wins)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # .txt files that could not be read

    def warnings(self, root: str | os.PathLike) -> list[str]:
        """One-line messages about missing entries, uncaptioned videos, conflicts and unreadable .txt files."""
        lines = []
        if self.missing:
            n = len(self.missing)
            lines.append(
                f"{CAPTIONS_FILE} names {n} {_plural(n, 'file')} that {'is' if n == 1 else 'are'} not among "
                f"the videos under {str(root)!r}: {_named(self.missing)}"
            )
        if self.by_file and self.uncaptioned:
            n, total = self.uncaptioned, len(self.by_file) + self.uncaptioned
            has, trains = ("has", "trains") if n == 1 else ("have", "train")
            lines.append(f"{n} of {total} videos {has} no caption and {trains} unconditioned")
        if self.conflicts:
            n = self.conflicts
            was, theirs = ("was", "its") if n == 1 else ("were", "theirs")
            captions, videos = _plural(n, "caption"), _plural(n, "video")
            lines.append(f".txt {captions} of {n} {videos} {was} ignored: {CAPTIONS_FILE} gives {theirs}")
        if self.unreadable:
            n = len(self.unreadable)
            listed = _named([f"{path} ({reason})" for path, reason in self.unreadable])
            lines.append(f"skipped {n} unreadable .txt {_plural(n, 'caption')}: {listed}")
        return lines


def read_captions(root: str | os.PathLike, videos: list[Path]) -> Captions:
    """Captions of `videos` (found under `root`) from root/captions.csv and from .txt files beside them."""
    root = Path(root)
    from_csv: dict[str, str] = {}
    missing: list[str] = []
    csv_path = root / CAPTIONS_FILE
    if root.is_dir() and csv_path.is_file():
        from_csv, missing = _match_rows(_read_csv(csv_path), root, videos)
    by_file: dict[str, str] = {}
    unreadable: list[tuple[str, str]] = []
    conflicts = 0
    for video in videos:
        key = str(video)
        txt_caption = _read_txt(video.with_suffix(".txt"), unreadable)
        if key in from_csv:
            by_file[key] = from_csv[key]
            conflicts += bool(txt_caption)
        elif txt_caption:
            by_file[key] = txt_caption
    uncaptioned = len({str(v) for v in videos}) - len(by_file)
    return Captions(by_file, uncaptioned, missing, conflicts, unreadable)


def _normalise(caption: str) -> str:
    """Whitespace collapsed to single spaces, ends stripped, case kept."""
    return " ".join(caption.split())


# ------------------------------------------------------------------------------------ captions.csv


def _read_csv(path: Path) -> list[tuple[str, str]]:
    """(file, caption) of every row with a file, as written (stripped), in order."""
    where = f"{CAPTIONS_FILE} at {str(path)!r}"
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as e:
        raise MultiganError(f"{where} is not UTF-8 text (byte {e.object[e.start]:#04x} at {e.start})") from None
    except csv.Error as e:
        raise MultiganError(f"{where} is not valid CSV: {_normalise(str(e))}") from None
    except OSError as e:
        raise MultiganError(f"cannot read {where}: {e.strerror or e}") from None
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]  # blank lines
    if not rows:
        raise MultiganError(f"{where} is empty; it needs a header row with the columns file,caption")
    header = [_normalise(name) for name in rows[0][1]]
    columns = [name.lower() for name in header]
    if "file" not in columns or "caption" not in columns:
        found = ",".join(header) or "nothing"
        raise MultiganError(f"{where} needs the columns file,caption; found: {found}")
    file_col, caption_col = columns.index("file"), columns.index("caption")
    out = []
    for line, row in rows[1:]:
        if any(cell.strip() for cell in row[len(header) :]):
            raise MultiganError(
                f"{where}, line {line}: more fields than the header has columns "
                f"(put a caption that holds a comma in double quotes)"
            )
        file = row[file_col].strip() if file_col < len(row) else ""
        if file:
            out.append((file, _normalise(row[caption_col]) if caption_col < len(row) else ""))
    return out


def _match_rows(rows: list[tuple[str, str]], root: Path, videos: list[Path]) -> tuple[dict[str, str], list[str]]:
    """({str(video): caption} for rows with a caption, [entries that match no video or several by name])."""
    by_relative: dict[str, str] = {}
    by_name: dict[str, list[str]] = defaultdict(list)
    for video in videos:
        relative = _relative(video, root)
        if relative is not None:
            by_relative[relative] = str(video)
        by_name[video.name].append(str(video))
    captions: dict[str, str] = {}
    missing: list[str] = []
    seen_missing: set[str] = set()
    for entry, caption in rows:
        key = PurePosixPath(entry.replace("\\", "/")).as_posix()  # drops "./" and doubled slashes
        target = by_relative.get(key)
        if target is None and "/" not in key and len(by_name.get(key, [])) == 1:
            target = by_name[key][0]
        if target is None:
            if entry not in seen_missing:
                seen_missing.add(entry)
                missing.append(entry)
        elif caption:  # an empty caption is no caption (and does not clear an earlier row's)
            captions[target] = caption
    return captions, missing


def _relative(video: Path, root: Path) -> str | None:
    """The video's path relative to root in posix form, or None when it is not under root."""
    try:
        return video.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return video.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ .txt files


def _read_txt(path: Path, unreadable: list[tuple[str, str]]) -> str:
    """The normalised content of a caption .txt, "" when there is none; unreadable files are recorded."""
    if not path.is_file() or any(seen == str(path) for seen, _ in unreadable):  # a.mp4 and a.webm share a.txt
        return ""
    try:
        return _normalise(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        unreadable.append((str(path), "not UTF-8 text"))
    except OSError as e:
        unreadable.append((str(path), str(e.strerror or e)))
    return ""


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _named(names: list[str]) -> str:
    return ", ".join(names[:_MAX_NAMED]) + (", ..." if len(names) > _MAX_NAMED else "")
