"""prune: true — the files secret-sync wrote for entries that left the manifest, or for values a
path: or select: no longer holds, are removed; never anything else, never through a symlink."""

from __future__ import annotations

import json
import os

from support import ok, two_secrets


def only_a(sync, names, prune: bool) -> None:
    """The manifest of two_secrets without b (whose file b is then an orphan)."""
    sync.write(f"""\
        - id: {names("a")}
          name: a
          files:
            - path: {sync.out}/a
        """, extra="prune: true\n" if prune else "")


def test_without_prune_a_file_left_behind_is_listed_each_pass_then_prune_removes_it(sync, admin, names):
    two_secrets(sync, admin, names)
    ok(sync.once())
    only_a(sync, names, prune=False)
    for _ in range(2):  # listed on every pass, not only the one that dropped the entry
        result = sync.once()
        ok(result)
        assert f"{sync.out / 'b'} was written by secret-sync for an entry or value it no longer manages; left in place" in result.stderr
        assert (sync.out / "b").read_text() == "b-v1"
    assert json.loads((sync.state / "state.json").read_text())["orphans"] == [{"path": str(sync.out / "b")}]

    only_a(sync, names, prune=True)
    dry = sync.once("--dry-run")
    ok(dry)
    assert f"would remove {sync.out / 'b'}" in dry.stdout and (sync.out / "b").exists()
    result = sync.once()
    ok(result)
    assert f"removed {sync.out / 'b'}" in result.stderr
    assert not (sync.out / "b").exists() and (sync.out / "a").read_text() == "a-v1"
    state = json.loads((sync.state / "state.json").read_text())
    assert "orphans" not in state and state["lastPass"]["filesRemoved"] == 1
    ok(result := sync.once())
    assert "notice: removed" not in result.stderr and "files_removed=0" in result.stderr


def test_prune_removes_what_a_selection_no_longer_holds_and_runs_its_hook(sync, admin, names):
    prefix = names("sel") + "/"
    admin.create_secret(Name=prefix + "keep", SecretString="k")
    admin.create_secret(Name=prefix + "deep/gone", SecretString="g")
    sync.write(f"""\
        - select:
            name_prefix: {prefix}
          name: sel
          directory: {sync.out}/sel
          on_change:
            - {sync.hook("sel")}
        """, extra="prune: true\n")
    ok(sync.once())
    assert (sync.out / "sel" / "deep" / "gone").read_text() == "g"
    (sync.out / "sel" / "notes.txt").write_text("an operator's file")
    admin.delete_secret(SecretId=prefix + "deep/gone", ForceDeleteWithoutRecovery=True)
    result = sync.once()
    ok(result)
    assert not (sync.out / "sel" / "deep").exists()  # the emptied subdirectory goes too
    assert (sync.out / "sel" / "keep").read_text() == "k"
    assert (sync.out / "sel" / "notes.txt").read_text() == "an operator's file"  # never written by secret-sync
    assert sync.hook_runs() == ["sel sel", "sel sel"]


def test_prune_never_follows_a_symlink_put_in_a_files_place(sync, admin, names, tmp_path):
    """Row: a symlink to another file put where a file to prune was (`prune: true`) | left alone, the target untouched, with a warning"""
    two_secrets(sync, admin, names)
    ok(sync.once())
    precious = tmp_path / "precious"
    precious.write_text("not secret-sync's")
    (sync.out / "b").unlink()
    os.symlink(precious, sync.out / "b")
    only_a(sync, names, prune=True)
    result = sync.once()
    ok(result)
    assert f"not removed: {sync.out / 'b'} is a symlink now, not the file secret-sync wrote; left alone" in result.stderr
    assert precious.read_text() == "not secret-sync's" and os.path.islink(sync.out / "b")
    assert "orphans" not in json.loads((sync.state / "state.json").read_text())
