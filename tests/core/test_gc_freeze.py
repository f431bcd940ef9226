"""freeze_startup_objects: live objects leave the collector's passes, garbage does not stay."""

import subprocess
import sys
import textwrap

from ngshare.config import NgShare

CHILD = textwrap.dedent(
    """
    import gc, weakref
    from ngshare.gc_freeze import freeze_startup_objects

    class Node:
        pass

    kept = [Node() for _ in range(1000)]           # live at startup
    a, b = Node(), Node()                           # unreachable cycle: garbage
    a.other, b.other = b, a
    garbage = weakref.ref(a)
    del a, b
    gc.disable()                                    # only the explicit collection may free it
    frozen = freeze_startup_objects()
    tracked = {id(o) for g in (0, 1, 2) for o in gc.get_objects(g)}
    assert frozen >= 1000, frozen
    assert garbage() is None, "garbage of startup was frozen instead of freed"
    assert not any(id(n) in tracked for n in kept), "startup objects still in a generation"
    later = Node()
    assert any(o is later for o in gc.get_objects(0)), "new objects are collected as usual"
    print("ok", frozen)
    """
)


def test_live_objects_are_frozen_and_garbage_is_collected_first():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")


def test_the_server_freezes_by_default_and_can_be_told_not_to():
    assert NgShare().freeze_startup_objects is True
    cfg = NgShare()
    cfg.parse_command_line(["--NgShare.freeze_startup_objects=False"])
    assert cfg.freeze_startup_objects is False
