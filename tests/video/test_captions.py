"""Captions of a video folder from captions.csv and from .txt files beside the videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from multigan.core.errors import MultiganError
from multigan.video.captions import CAPTIONS_FILE, Captions, read_captions
from multigan.video.data import find_videos


def make_folder(root: Path, *names: str) -> list[Path]:
    """Empty placeholder videos (read_captions never decodes them); returns find_videos(root)."""
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return find_videos(root)


def write_csv(root: Path, text: str, encoding: str = "utf-8") -> Path:
    path = root / CAPTIONS_FILE
    path.write_bytes(text.encode(encoding))
    return path


def test_captions_from_csv(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "sub/b.mp4")
    write_csv(tmp_path, 'file,caption\na.mp4,"A  cat\n  runs, fast"\nsub/b.mp4,  The Dog \n')
    caps = read_captions(tmp_path, videos)
    assert videos == [tmp_path / "a.mp4", tmp_path / "sub" / "b.mp4"]  # captions.csv is not a video
    assert caps == Captions(
        by_file={str(tmp_path / "a.mp4"): "A cat runs, fast", str(tmp_path / "sub" / "b.mp4"): "The Dog"},
        uncaptioned=0,
        missing=[],
        conflicts=0,
        unreadable=[],
    )
    assert caps.warnings(tmp_path) == []


def test_captions_from_txt(tmp_path):
    videos = make_folder(tmp_path, "clip.mp4", "sub/other.webm", "sub/quiet.mkv")
    (tmp_path / "clip.txt").write_text("  Hello\n\tWorld  \n", encoding="utf-8")
    (tmp_path / "sub" / "other.txt").write_text("Ünïcode   ok", encoding="utf-8")
    (tmp_path / "sub" / "quiet.txt").write_text(" \n\n", encoding="utf-8")  # empty: no caption
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {
        str(tmp_path / "clip.mp4"): "Hello World",
        str(tmp_path / "sub" / "other.webm"): "Ünïcode ok",
    }
    assert (caps.uncaptioned, caps.missing, caps.conflicts, caps.unreadable) == (1, [], 0, [])


def test_csv_wins_over_txt_and_conflicts_are_counted(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4", "c.mp4", "d.mp4")
    write_csv(tmp_path, "file,caption\na.mp4,from csv a\nb.mp4,from csv b\nc.mp4,from csv c\n")
    (tmp_path / "a.txt").write_text("from txt a")
    (tmp_path / "b.txt").write_text("from txt b")
    (tmp_path / "c.txt").write_text("   ")  # empty .txt: no conflict
    (tmp_path / "d.txt").write_text("from txt d")
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {
        str(tmp_path / "a.mp4"): "from csv a",
        str(tmp_path / "b.mp4"): "from csv b",
        str(tmp_path / "c.mp4"): "from csv c",
        str(tmp_path / "d.mp4"): "from txt d",
    }
    assert (caps.uncaptioned, caps.missing, caps.conflicts) == (0, [], 2)
    assert caps.warnings(tmp_path) == [".txt captions of 2 videos were ignored: captions.csv gives theirs"]


def test_csv_entries_that_match_no_video_go_to_missing(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "sub/b.mp4")
    write_csv(
        tmp_path,
        "file,caption\ngone.mp4,x\na.mp4,kept\nsub/nope.mp4,y\ngone.mp4,again\nb.mp4/sub,z\nempty.mp4,\n",
    )
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {str(tmp_path / "a.mp4"): "kept"}
    assert caps.missing == ["gone.mp4", "sub/nope.mp4", "b.mp4/sub", "empty.mp4"]  # each named once
    assert caps.uncaptioned == 1
    assert caps.warnings(tmp_path) == [
        f"captions.csv names 4 files that are not among the videos under {str(tmp_path)!r}: "
        "gone.mp4, sub/nope.mp4, b.mp4/sub, empty.mp4",
        "1 of 2 videos has no caption and trains unconditioned",
    ]


def test_uncaptioned_videos_are_counted(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4", "c.gif", "sub/d.mov", "sub/e.avi")
    write_csv(tmp_path, "file,caption\na.mp4,one\nb.mp4,\nc.gif,  \n")  # empty captions are no captions
    (tmp_path / "sub" / "e.txt").write_text("two")
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {str(tmp_path / "a.mp4"): "one", str(tmp_path / "sub" / "e.avi"): "two"}
    assert (caps.uncaptioned, caps.missing, caps.conflicts) == (3, [], 0)
    assert caps.warnings(tmp_path) == ["3 of 5 videos have no caption and train unconditioned"]


def test_no_captions_at_all_is_fine_and_quiet(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4")
    caps = read_captions(tmp_path, videos)
    assert caps == Captions(by_file={}, uncaptioned=2, missing=[])
    assert caps.warnings(tmp_path) == []  # all unconditioned: nothing mixed to warn about


def test_empty_caption_row_does_not_clear_an_earlier_one_and_a_later_row_replaces_it(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4")
    write_csv(tmp_path, "file,caption\na.mp4,first\na.mp4,\nb.mp4,old\nb.mp4,new\n")
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {str(tmp_path / "a.mp4"): "first", str(tmp_path / "b.mp4"): "new"}


@pytest.mark.parametrize(
    "text, found",
    [("name,text\na.mp4,x\n", "name,text"), ("file\na.mp4\n", "file"), ("caption, notes\nx,y\n", "caption,notes")],
)
def test_bad_header_raises_one_line(tmp_path, text, found):
    videos = make_folder(tmp_path, "a.mp4")
    path = write_csv(tmp_path, text)
    with pytest.raises(MultiganError) as info:
        read_captions(tmp_path, videos)
    assert str(info.value) == f"captions.csv at {str(path)!r} needs the columns file,caption; found: {found}"
    assert "\n" not in str(info.value)


def test_unreadable_csv_raises_one_line(tmp_path):
    videos = make_folder(tmp_path, "a.mp4")
    path = write_csv(tmp_path, "file,caption\na.mp4,caf\xe9\n", encoding="latin-1")
    with pytest.raises(MultiganError) as info:
        read_captions(tmp_path, videos)
    assert str(info.value) == f"captions.csv at {str(path)!r} is not UTF-8 text (byte 0xe9 at 22)"

    write_csv(tmp_path, "\n  \n")
    with pytest.raises(MultiganError) as info:
        read_captions(tmp_path, videos)
    assert str(info.value) == (
        f"captions.csv at {str(path)!r} is empty; it needs a header row with the columns file,caption"
    )

    write_csv(tmp_path, "file,caption\na.mp4,red, green\n")  # an unquoted comma
    with pytest.raises(MultiganError) as info:
        read_captions(tmp_path, videos)
    assert str(info.value) == (
        f"captions.csv at {str(path)!r}, line 2: more fields than the header has columns "
        "(put a caption that holds a comma in double quotes)"
    )


def test_bom_whitespace_and_extra_columns_are_tolerated(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4")
    write_csv(tmp_path, " id , File ,  Caption \r\n1, a.mp4 , Big\tcat \r\n\r\n2,b.mp4,Small dog,\r\n", "utf-8-sig")
    assert (tmp_path / CAPTIONS_FILE).read_bytes().startswith(b"\xef\xbb\xbf")
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {str(tmp_path / "a.mp4"): "Big cat", str(tmp_path / "b.mp4"): "Small dog"}
    assert (caps.uncaptioned, caps.missing) == (0, [])


def test_bare_names_and_dot_slash_match_videos_in_subfolders(tmp_path):
    videos = make_folder(tmp_path, "top.mp4", "sub/deep/c.mp4", "x/dup.mp4", "y/dup.mp4", "y/top.mp4", "z/e.webm")
    write_csv(
        tmp_path,
        "file,caption\n"
        "c.mp4,by name\n"  # one video has this name: accepted
        "dup.mp4,ambiguous\n"  # two videos have this name: missing
        "top.mp4,exact\n"  # the top-level path wins over the name in y/
        "./y/dup.mp4,dot slash\n"
        "z\\e.webm,backslash\n",
    )
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {
        str(tmp_path / "sub" / "deep" / "c.mp4"): "by name",
        str(tmp_path / "top.mp4"): "exact",
        str(tmp_path / "y" / "dup.mp4"): "dot slash",
        str(tmp_path / "z" / "e.webm"): "backslash",
    }
    assert caps.missing == ["dup.mp4"]
    assert caps.uncaptioned == 2  # x/dup.mp4, y/top.mp4


def test_relative_root_and_videos_match(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_folder(tmp_path / "data", "sub/a.mp4")
    write_csv(tmp_path / "data", "file,caption\nsub/a.mp4,rel\n")
    videos = find_videos("data")
    caps = read_captions("data", videos)
    assert caps.by_file == {str(Path("data") / "sub" / "a.mp4"): "rel"}


def test_non_utf8_txt_goes_to_unreadable(tmp_path):
    videos = make_folder(tmp_path, "a.mp4", "b.mp4", "c.mp4", "c.webm")
    (tmp_path / "a.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "b.txt").write_text("fine")
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe")  # shared by c.mp4 and c.webm: listed once
    caps = read_captions(tmp_path, videos)
    assert caps.by_file == {str(tmp_path / "b.mp4"): "fine"}
    assert caps.uncaptioned == 3
    assert caps.unreadable == [(str(tmp_path / "a.txt"), "not UTF-8 text"), (str(tmp_path / "c.txt"), "not UTF-8 text")]
    assert caps.warnings(tmp_path) == [
        "3 of 4 videos have no caption and train unconditioned",
        f"skipped 2 unreadable .txt captions: {tmp_path / 'a.txt'} (not UTF-8 text), "
        f"{tmp_path / 'c.txt'} (not UTF-8 text)",
    ]


def test_warnings_singular_and_at_most_five_names():
    caps = Captions(
        by_file={"v/a.mp4": "x"}, uncaptioned=1, missing=["m.mp4"], conflicts=1, unreadable=[("v/b.txt", "why")]
    )
    assert caps.warnings("/x") == [
        "captions.csv names 1 file that is not among the videos under '/x': m.mp4",
        "1 of 2 videos has no caption and trains unconditioned",
        ".txt caption of 1 video was ignored: captions.csv gives its",
        "skipped 1 unreadable .txt caption: v/b.txt (why)",
    ]
    many = Captions(by_file={f"v{i}.mp4": "x" for i in range(28)}, uncaptioned=12, missing=list("abcdefg"))
    assert many.warnings(Path("/x")) == [
        "captions.csv names 7 files that are not among the videos under '/x': a, b, c, d, e, ...",
        "12 of 40 videos have no caption and train unconditioned",
    ]
