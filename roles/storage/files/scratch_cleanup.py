# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Delete old files from a group's scratch directory on the shared EFS volume (run by a CronJob, standard library only).

    python scratch_cleanup.py --root /mnt/shared/<group> --retention-days N [--dry-run] [--now EPOCH] [--log-format text|json]

What it deletes: regular files and symbolic links (the link itself, never its target) anywhere under `<root>/scratch`
whose own modification time (lstat) is more than N days before now, then the directories under scratch/ that this left
empty, and empty directories that are themselves older than N days. `scratch/` itself, the shared root and anything
outside `<root>/scratch` are never deleted; other file types (fifos, sockets, devices) are kept.

Safety rules:

- Symbolic links are never followed: every directory is opened with O_NOFOLLOW | O_DIRECTORY relative to its parent's
  open descriptor, files are lstat'ed and removed with unlink(name, dir_fd=...) / rmdir(name, dir_fd=...) in the
  directory actually held open. A directory swapped for a symlink mid-walk fails to open (and is counted as an error)
  instead of redirecting the deletion.
- Before each unlink or rmdir the directory's path is resolved again (os.path.realpath) and must still lie inside
  realpath(<root>/scratch) and still be the directory held open; the entry is lstat'ed again and kept if it changed
  (a directory now, or modified since the scan).
- Refused with exit code 2: `<root>/scratch` is a symlink (it could point at the homes), --root resolves to `/` or is
  not a directory, `scratch` is not a directory, --retention-days below 1.
- Directories on another filesystem (mount points) are not entered; the walk stops 200 levels deep (an error).

Output: one line per deletion on stdout (text: `deleted PATH size=BYTES age_days=DAYS`, or `would delete ...` with
--dry-run; json: one object per line with "event"), errors on stderr, then a summary line
`summary: files_deleted=N bytes_freed=N dirs_removed=N files_kept=N errors=N dry_run=false`.
Exit codes: 0 done (also when there is no scratch/ directory), 1 some entries could not be deleted or read, 2 refused.
"""

import argparse
import errno
import json
import os
import stat
import sys
import time

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_REFUSED = 2
DAY = 86400.0
MAX_DEPTH = 200
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Refused(Exception):
    """Input the script will not work on (exit code 2)."""


def shown(path):
    """A path safe to print on one line (names with newlines or undecodable bytes are quoted)."""
    return path if path.isprintable() else ascii(path)


class Log:
    """Events as text lines or JSON objects, one per line; errors go to stderr."""

    def __init__(self, fmt):
        self.fmt = fmt

    def event(self, event, message, error=False, **fields):
        stream = sys.stderr if error else sys.stdout
        if self.fmt == "json":
            record = {"event": event, "message": message}
            record.update(fields)
            line = json.dumps(record, sort_keys=True)
        else:
            details = " ".join("%s=%s" % (key, value) for key, value in fields.items() if key != "path")
            line = " ".join(part for part in (message, shown(fields["path"]) if "path" in fields else "", details) if part)
        print(line, file=stream, flush=True)


class Cleaner:
    """One cleanup run of <root>/scratch."""

    def __init__(self, root, retention_days, now, dry_run, log):
        self.root = root
        self.now = now
        self.cutoff = now - retention_days * DAY
        self.dry_run = dry_run
        self.log = log
        self.scratch = None
        self.device = None
        self.counts = {"files_deleted": 0, "bytes_freed": 0, "dirs_removed": 0, "files_kept": 0, "errors": 0}

    # ------------------------------------------------------------------------------------------------ entry point
    def run(self):
        """Check the input (Refused on bad input), then sweep scratch/."""
        root = os.path.realpath(self.root)
        if root == os.path.sep:
            raise Refused("--root %s resolves to /" % shown(self.root))
        if not os.path.isdir(root):
            raise Refused("--root %s is not a directory" % shown(self.root))
        scratch = os.path.join(root, "scratch")
        try:
            before = os.lstat(scratch)
        except FileNotFoundError:
            self.log.event("nothing_to_do", "no scratch directory at", path=scratch)
            return
        except OSError as exc:
            self.error("cannot stat", scratch, exc)
            return
        if stat.S_ISLNK(before.st_mode):
            raise Refused("%s is a symbolic link (to %s); refusing to clean through it" % (shown(scratch), shown(link_target(scratch))))
        if not stat.S_ISDIR(before.st_mode):
            raise Refused("%s is not a directory" % shown(scratch))
        try:
            fd = os.open(scratch, DIR_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Refused("%s was replaced by a symbolic link or a file" % shown(scratch)) from exc
            self.error("cannot open", scratch, exc)
            return
        try:
            if not same_file(os.fstat(fd), before):
                raise Refused("%s changed while it was being opened" % shown(scratch))
            self.scratch = os.path.realpath(scratch)
            self.device = before.st_dev
            self.sweep(fd, scratch, 0)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------------------------------------ the walk
    def sweep(self, dir_fd, path, depth):
        """Clean the directory held open as dir_fd (path names it, for logs and the realpath check).

        Return (empty, deleted): nothing is left in it (as far as this run knows; with --dry-run: would be left), and
        something below it was (or would be) deleted."""
        try:
            with os.scandir(dir_fd) as entries:
                names = [entry.name for entry in entries]
        except OSError as exc:
            self.error("cannot list", path, exc)
            return False, False
        left = 0
        deleted = False
        for name in names:
            child = os.path.join(path, name)
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone since the listing
            except OSError as exc:
                self.error("cannot stat", child, exc)
                left += 1
                continue
            if stat.S_ISDIR(info.st_mode):
                gone, below = self.sweep_subdir(dir_fd, path, name, info, depth)
            elif (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)) and info.st_mtime < self.cutoff:
                gone = below = self.delete_file(dir_fd, path, name, info)
            else:
                self.counts["files_kept"] += 1
                gone = below = False
            deleted = deleted or below
            if not gone:
                left += 1
        return left == 0, deleted

    def sweep_subdir(self, parent_fd, parent_path, name, info, depth):
        """Sweep one subdirectory, then remove it when it is empty and either this run emptied it or it is old itself.

        Return (gone, deleted): the directory is (or would be) removed, something below it was (or would be) deleted."""
        path = os.path.join(parent_path, name)
        if info.st_dev != self.device:
            self.log.event("skip", "not entering (another filesystem)", path=path)
            return False, False
        if depth >= MAX_DEPTH:
            self.error("not entering (more than %d levels deep)" % MAX_DEPTH, path)
            return False, False
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            return True, False
        except OSError as exc:  # ELOOP / ENOTDIR: swapped for a symlink or a file since the lstat
            self.error("cannot open directory", path, exc)
            return False, False
        try:
            if not same_file(os.fstat(fd), info):
                self.error("directory changed during the walk, not entered", path)
                return False, False
            empty, deleted = self.sweep(fd, path, depth + 1)
        finally:
            os.close(fd)
        if empty and (deleted or info.st_mtime < self.cutoff):
            return self.remove_dir(parent_fd, parent_path, name), deleted
        return False, deleted

    # ------------------------------------------------------------------------------------------------ deletions
    def inside(self, dir_fd, dir_path):
        """dir_path still resolves inside realpath(<root>/scratch) and is still the directory held open as dir_fd."""
        real = os.path.realpath(dir_path)
        if real != self.scratch and not real.startswith(self.scratch + os.path.sep):
            return False
        try:
            return same_file(os.stat(real, follow_symlinks=False), os.fstat(dir_fd))
        except OSError:
            return False

    def delete_file(self, dir_fd, dir_path, name, info):
        """Unlink one old file or symlink in the directory held open as dir_fd; True when it is (or would be) gone."""
        path = os.path.join(dir_path, name)
        if not self.inside(dir_fd, dir_path):
            self.error("not deleting: its directory moved out of %s during the run" % shown(self.scratch), path)
            return False
        try:
            again = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.error("cannot stat", path, exc)
            return False
        if not same_file(again, info) or stat.S_IFMT(again.st_mode) != stat.S_IFMT(info.st_mode) or again.st_mtime >= self.cutoff:
            self.counts["files_kept"] += 1  # replaced or modified since the scan
            return False
        fields = {"path": path, "size": again.st_size, "age_days": round((self.now - again.st_mtime) / DAY, 1)}
        if not self.dry_run:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                return True
            except OSError as exc:
                self.error("cannot delete", path, exc)
                return False
        self.log.event("would_delete" if self.dry_run else "deleted", "would delete" if self.dry_run else "deleted", **fields)
        self.counts["files_deleted"] += 1
        self.counts["bytes_freed"] += again.st_size
        return True

    def remove_dir(self, parent_fd, parent_path, name):
        """rmdir one empty directory in the directory held open as parent_fd; True when it is (or would be) gone."""
        path = os.path.join(parent_path, name)
        if not self.inside(parent_fd, parent_path):
            self.error("not removing: its parent moved out of %s during the run" % shown(self.scratch), path)
            return False
        if not self.dry_run:
            try:
                os.rmdir(name, dir_fd=parent_fd)
            except FileNotFoundError:
                return True
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    return False  # something was written into it meanwhile: keep it
                self.error("cannot remove directory", path, exc)
                return False
        self.log.event("would_remove_dir" if self.dry_run else "removed_dir",
                       "would remove empty directory" if self.dry_run else "removed empty directory", path=path)
        self.counts["dirs_removed"] += 1
        return True

    def error(self, what, path, exc=None):
        self.counts["errors"] += 1
        fields = {"path": path}
        if exc is not None:
            fields["reason"] = exc.strerror or str(exc)
        self.log.event("error", "error: " + what, error=True, **fields)


def link_target(path):
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def same_file(one, other):
    return (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Delete files older than --retention-days from <root>/scratch.")
    parser.add_argument("--root", required=True, help="the group's shared directory (its scratch/ is cleaned)")
    parser.add_argument("--retention-days", required=True, type=int, help="delete files not modified for this many days (at least 1)")
    parser.add_argument("--dry-run", action="store_true", help="log what would be deleted, delete nothing")
    parser.add_argument("--now", type=float, default=None, help="the current time as seconds since the epoch (tests)")
    parser.add_argument("--log-format", choices=("text", "json"), default="text")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    log = Log(args.log_format)
    now = time.time() if args.now is None else args.now
    cleaner = Cleaner(args.root, args.retention_days, now, args.dry_run, log)
    try:
        if args.retention_days < 1:
            raise Refused("--retention-days must be at least 1 (got %d)" % args.retention_days)
        cleaner.run()
    except Refused as exc:
        log.event("refused", "refused: %s" % exc, error=True)
        return EXIT_REFUSED
    summary = dict(cleaner.counts, dry_run=str(args.dry_run).lower() if args.log_format == "text" else args.dry_run)
    log.event("summary", "summary:", **summary)
    return EXIT_ERRORS if cleaner.counts["errors"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
