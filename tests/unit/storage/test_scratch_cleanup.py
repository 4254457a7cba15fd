# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""roles/storage/files/scratch_cleanup.py on temporary trees: what it deletes under <root>/scratch, what it never
touches (outside scratch/, symlink targets, scratch/ itself), what it refuses (exit 2), dry runs, errors (exit 1)."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "storage" / "files" / "scratch_cleanup.py"
DAY = 86400
NOW = time.time()
LINE_RE = re.compile(r"^(deleted|would delete) (\S+) size=(\d+) age_days=([\d.]+)$")
SUMMARY_RE = re.compile(r"^summary: files_deleted=(\d+) bytes_freed=(\d+) dirs_removed=(\d+) files_kept=(\d+) errors=(\d+) dry_run=(true|false)$")


def load():
    spec = importlib.util.spec_from_file_location("hubops_scratch_cleanup", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cleanup = load()


def aged(path, days):
    """Set path's atime and mtime (its own, for a symlink) days before NOW."""
    when = NOW - days * DAY
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def put(path, days, size=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return aged(path, days)


def link(path, target, days):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return aged(path, days)


def run(root, *args, days=30):
    """main() in-process: (exit code, stdout lines, stderr lines)."""
    return cleanup.main(["--root", str(root), "--retention-days", str(days), "--now", str(NOW), *args])


def output(capsys):
    out, err = capsys.readouterr()
    return out.splitlines(), err.splitlines()


def summary(lines):
    match = SUMMARY_RE.match(lines[-1])
    assert match, lines
    keys = ("files_deleted", "bytes_freed", "dirs_removed", "files_kept", "errors")
    return dict(zip(keys, map(int, match.groups()[:5])), dry_run=match.group(6) == "true")


def deletions(lines):
    return sorted(LINE_RE.match(line).group(2) for line in lines if LINE_RE.match(line))


def snapshot(top):
    """Every path under top (not following symlinks) with its type, size and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            found[os.path.relpath(os.path.join(dirpath, name), top)] = (info.st_mode, info.st_size, info.st_mtime)
    return found


@pytest.fixture
def tree(tmp_path):
    """<tmp>/shared/neuro with an old file beside scratch/, and <tmp>/outside (the homes, say) with old files that
    symlinks in scratch/ point at."""
    root = tmp_path / "shared" / "neuro"
    scratch = root / "scratch"
    outside = tmp_path / "outside"
    paths = {
        "root_old": put(root / "results" / "keep.csv", 400),
        "root_file_old": put(root / "notes.txt", 400),
        "target_file": put(outside / "precious.txt", 400, size=7),
        "target_dir_file": put(outside / "olddir" / "data.bin", 400, size=9),
        "old1": put(scratch / "old1.bin", 40, size=100),
        "new1": put(scratch / "new1.txt", 1, size=5),
        "deep": put(scratch / "deep" / "a" / "b" / "old2.bin", 31, size=50),
        "mixed_old": put(scratch / "mixed" / "old3.txt", 90, size=20),
        "mixed_new": put(scratch / "mixed" / "new2.txt", 29, size=3),
        "link_file_old": link(scratch / "to-precious", outside / "precious.txt", 40),
        "link_dir_old": link(scratch / "links" / "to-olddir", outside / "olddir", 40),
        "link_dir_new": link(scratch / "to-olddir-new", outside / "olddir", 1),
    }
    (scratch / "empty_new").mkdir()
    (scratch / "empty_old").mkdir()
    aged(scratch / "empty_old", 60)
    return root, scratch, outside, paths


def test_old_files_and_links_go_new_and_outside_stay(tree, capsys):
    root, scratch, outside, paths = tree
    outside_before = snapshot(outside)
    assert run(root) == 0
    out, err = output(capsys)
    assert err == []
    gone = ("old1", "deep", "mixed_old", "link_file_old", "link_dir_old")
    for key in gone:
        assert not os.path.lexists(paths[key]), key
    for key in ("new1", "mixed_new", "link_dir_new", "root_old", "root_file_old", "target_file", "target_dir_file"):
        assert os.path.lexists(paths[key]), key
    # the symlinks' targets, and everything else outside scratch/, untouched
    assert snapshot(outside) == outside_before
    assert paths["target_file"].read_bytes() == b"x" * 7
    assert (root / "results" / "keep.csv").exists() and root.is_dir() and scratch.is_dir()
    # emptied directories pruned (deep/a/b, deep/a, deep, links), an old empty one too; a fresh empty one and mixed/ stay
    assert not (scratch / "deep").exists() and not (scratch / "links").exists() and not (scratch / "empty_old").exists()
    assert (scratch / "empty_new").is_dir() and (scratch / "mixed").is_dir()
    assert deletions(out) == sorted(str(paths[key]) for key in gone)
    link_size = len(str(outside / "precious.txt")) + len(str(outside / "olddir"))
    assert summary(out) == {"files_deleted": 5, "bytes_freed": 100 + 50 + 20 + link_size, "dirs_removed": 5,
                            "files_kept": 3, "errors": 0, "dry_run": False}
    line = next(line for line in out if str(paths["old1"]) in line)
    assert line == "deleted %s size=100 age_days=40.0" % paths["old1"]


def test_a_second_run_has_nothing_left_to_do(tree, capsys):
    root = tree[0]
    assert run(root) == 0
    capsys.readouterr()
    assert run(root) == 0
    out, err = output(capsys)
    assert err == [] and deletions(out) == []
    assert summary(out) == {"files_deleted": 0, "bytes_freed": 0, "dirs_removed": 0, "files_kept": 3, "errors": 0, "dry_run": False}


def test_dry_run_deletes_nothing_and_reports_the_same(tree, capsys):
    root, scratch, outside, _paths = tree
    before = snapshot(root.parent.parent)
    assert run(root, "--dry-run") == 0
    dry, err = output(capsys)
    assert err == []
    assert snapshot(root.parent.parent) == before
    assert all(line.startswith(("would delete ", "would remove empty directory ", "summary: ")) for line in dry), dry
    assert run(root) == 0
    real, err = output(capsys)
    assert deletions(dry) == deletions(real) and len(deletions(dry)) == 5
    dirs = sorted(line.split(" ", 4)[-1] for line in dry if line.startswith("would remove empty directory "))
    assert dirs == sorted(line.split(" ", 3)[-1] for line in real if line.startswith("removed empty directory "))
    assert dict(summary(dry), dry_run=False) == summary(real)
    assert summary(dry)["dry_run"] is True
    assert scratch.is_dir() and outside.is_dir()


def test_empty_directories_are_pruned_but_not_scratch(tmp_path, capsys):
    root = tmp_path / "group"
    put(root / "scratch" / "a" / "b" / "c" / "old.txt", 10)
    put(root / "scratch" / "x" / "old.txt", 10)
    assert run(root, days=7) == 0
    out = output(capsys)[0]
    assert (root / "scratch").is_dir() and list((root / "scratch").iterdir()) == []
    assert summary(out)["dirs_removed"] == 4 and summary(out)["files_deleted"] == 2


def test_a_symlinked_scratch_is_refused(tmp_path, capsys):
    root = tmp_path / "group"
    homes = tmp_path / "homes"
    old = put(homes / "alice" / "thesis.tex", 400)
    root.mkdir()
    (root / "scratch").symlink_to(homes)
    assert run(root) == 2
    out, err = output(capsys)
    assert out == [] and "symbolic link" in err[0] and str(homes) in err[0]
    assert old.exists()
    # the same from the command line
    proc = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), "--retention-days", "7"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "refused" in proc.stderr and "symbolic link" in proc.stderr, proc
    assert old.exists()


@pytest.mark.parametrize("days", [0, -3])
def test_retention_below_one_day_is_refused(tree, capsys, days):
    root, scratch, _outside, _paths = tree
    before = snapshot(scratch)
    assert run(root, days=days) == 2
    out, err = output(capsys)
    assert out == [] and "--retention-days must be at least 1" in err[0]
    assert snapshot(scratch) == before


def test_bad_roots_are_refused(tmp_path, capsys):
    assert run("/") == 2
    assert "resolves to /" in output(capsys)[1][0]
    (tmp_path / "up").symlink_to("/")
    assert run(tmp_path / "up") == 2
    assert "resolves to /" in output(capsys)[1][0]
    put(tmp_path / "file", 0)
    assert run(tmp_path / "file") == 2
    assert "is not a directory" in output(capsys)[1][0]
    assert run(tmp_path / "missing") == 2
    assert "is not a directory" in output(capsys)[1][0]
    put(tmp_path / "group" / "scratch", 100)  # scratch is a file
    assert run(tmp_path / "group") == 2
    assert "scratch is not a directory" in output(capsys)[1][0]
    assert (tmp_path / "group" / "scratch").exists()


def test_no_scratch_directory_is_nothing_to_do(tmp_path, capsys):
    root = tmp_path / "group"
    old = put(root / "old.txt", 400)
    assert run(root) == 0
    out, err = output(capsys)
    assert err == [] and out[0].startswith("no scratch directory at ")
    assert summary(out) == {"files_deleted": 0, "bytes_freed": 0, "dirs_removed": 0, "files_kept": 0, "errors": 0, "dry_run": False}
    assert old.exists()


def test_root_given_through_a_symlink(tmp_path, capsys):
    root = tmp_path / "real"
    old = put(root / "scratch" / "old.txt", 40)
    (tmp_path / "mount").symlink_to(root)
    assert run(tmp_path / "mount") == 0
    assert not old.exists() and (root / "scratch").is_dir()
    assert deletions(output(capsys)[0]) == [str(old)]


def test_other_file_types_are_kept(tmp_path, capsys):
    fifo = tmp_path / "group" / "scratch" / "pipe"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    aged(fifo, 100)
    assert run(tmp_path / "group") == 0
    assert fifo.exists() and summary(output(capsys)[0])["files_kept"] == 1


def test_permission_error_counts_and_exits_1(tmp_path, capsys):
    if os.geteuid() == 0:
        print("skipping: running as root, which may unlink in a 0o500 directory; test_simulated_permission_error covers it")
        pytest.skip("running as root: a 0o500 directory does not stop root (see test_simulated_permission_error)")
    root = tmp_path / "group"
    locked = root / "scratch" / "locked"
    stuck = put(locked / "old.txt", 40)
    free = put(root / "scratch" / "old.txt", 40)
    locked.chmod(0o500)
    try:
        assert run(root) == 1
    finally:
        locked.chmod(0o700)
    out, err = output(capsys)
    assert stuck.exists() and not free.exists() and locked.is_dir()
    assert any("cannot delete" in line and str(stuck) in line for line in err), err
    assert summary(out) == {"files_deleted": 1, "bytes_freed": 10, "dirs_removed": 0, "files_kept": 0, "errors": 1, "dry_run": False}


def test_simulated_permission_error(tmp_path, capsys, monkeypatch):
    """The same as the chmod case, for root too: unlink of one file fails with EACCES."""
    root = tmp_path / "group"
    stuck = put(root / "scratch" / "locked" / "old.txt", 40)
    free = put(root / "scratch" / "old.txt", 40)
    real_unlink = os.unlink

    def unlink(name, *args, **kwargs):
        if name == "old.txt" and stuck.exists() and kwargs.get("dir_fd") is not None \
                and os.path.samefile("/proc/self/fd/%d" % kwargs["dir_fd"], stuck.parent):
            raise PermissionError(13, "Permission denied")
        return real_unlink(name, *args, **kwargs)

    monkeypatch.setattr(cleanup.os, "unlink", unlink)
    assert run(root) == 1
    out, err = output(capsys)
    assert stuck.exists() and not free.exists() and stuck.parent.is_dir()
    assert err == ["error: cannot delete %s reason=Permission denied" % stuck]
    assert summary(out) == {"files_deleted": 1, "bytes_freed": 10, "dirs_removed": 0, "files_kept": 0, "errors": 1, "dry_run": False}


def test_json_log_format(tree):
    root, _scratch, _outside, paths = tree
    proc = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), "--retention-days", "30", "--now", str(NOW),
                           "--log-format", "json", "--dry-run"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    files = [r for r in records if r["event"] == "would_delete"]
    assert sorted(r["path"] for r in files) == sorted(str(paths[k]) for k in ("old1", "deep", "mixed_old", "link_file_old", "link_dir_old"))
    assert next(r for r in files if r["path"] == str(paths["old1"])) == {
        "event": "would_delete", "message": "would delete", "path": str(paths["old1"]), "size": 100, "age_days": 40.0}
    assert records[-1]["event"] == "summary" and records[-1]["dry_run"] is True and records[-1]["files_deleted"] == 5
    assert paths["old1"].exists()


# ------------------------------------------------------------------------------------------------ races
def test_a_directory_swapped_for_a_symlink_mid_walk_is_not_entered(tmp_path, capsys):
    """Between the lstat of scratch/d and its opening, d becomes a symlink to a directory of old files."""
    root = tmp_path / "group"
    scratch = root / "scratch"
    put(scratch / "d" / "old.txt", 40)
    victim = put(tmp_path / "homes" / "alice" / "old.txt", 400)
    cleaner = cleanup.Cleaner(str(root), 30, NOW, False, cleanup.Log("text"))
    cleaner.scratch, cleaner.device = str(scratch), os.lstat(scratch).st_dev
    info = os.lstat(scratch / "d")
    (scratch / "d").rename(tmp_path / "moved")
    (scratch / "d").symlink_to(victim.parent)
    fd = os.open(scratch, cleanup.DIR_FLAGS)
    try:
        assert cleaner.sweep_subdir(fd, str(scratch), "d", info, 0) == (False, False)
    finally:
        os.close(fd)
    assert victim.exists() and (tmp_path / "moved" / "old.txt").exists()
    assert cleaner.counts["errors"] == 1 and "cannot open directory" in capsys.readouterr().err


def test_a_directory_moved_out_of_scratch_mid_walk_is_left_alone(tmp_path, capsys):
    """A directory held open, then moved out of scratch/ (e.g. into a home), is no longer deleted from."""
    root = tmp_path / "group"
    scratch = root / "scratch"
    put(scratch / "d" / "old.txt", 40)
    cleaner = cleanup.Cleaner(str(root), 30, NOW, False, cleanup.Log("text"))
    cleaner.scratch = str(scratch)
    fd = os.open(scratch / "d", cleanup.DIR_FLAGS)
    try:
        info = os.stat("old.txt", dir_fd=fd, follow_symlinks=False)
        (scratch / "d").rename(tmp_path / "home-d")
        assert cleaner.delete_file(fd, str(scratch / "d"), "old.txt", info) is False
        # and a new directory at the old path is not the one held open either
        (scratch / "d").mkdir()
        assert cleaner.delete_file(fd, str(scratch / "d"), "old.txt", info) is False
    finally:
        os.close(fd)
    assert (tmp_path / "home-d" / "old.txt").exists()
    assert cleaner.counts["errors"] == 2 and "moved out of" in capsys.readouterr().err


def test_a_file_touched_after_the_scan_is_kept(tmp_path, capsys):
    root = tmp_path / "group"
    scratch = root / "scratch"
    old = put(scratch / "old.txt", 40)
    cleaner = cleanup.Cleaner(str(root), 30, NOW, False, cleanup.Log("text"))
    cleaner.scratch = str(scratch)
    info = os.lstat(old)
    aged(old, 0)
    fd = os.open(scratch, cleanup.DIR_FLAGS)
    try:
        assert cleaner.delete_file(fd, str(scratch), "old.txt", info) is False
    finally:
        os.close(fd)
    assert old.exists() and cleaner.counts["files_kept"] == 1 and cleaner.counts["errors"] == 0
    assert capsys.readouterr().out == ""
