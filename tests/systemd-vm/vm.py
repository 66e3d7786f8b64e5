#!/usr/bin/env python3
"""Boot the systemd-vm guest under QEMU (TCG) and relay its checks.

Called by tests/systemd-vm/run.  The guest's check script (guest/check) talks
over the virtio port org.underlay.test: it prints one "ok - ..." or
"FAIL - ..." line per check, and asks for NIC hot-plugging with
"REQ hotplug" / "REQ unplug", which this driver does through QMP
(netdev_add + device_add of a virtio-net-pci NIC in PCI slot 8, device_del)
and answers with "ACK ...".  It adds its own checks (the guest booted, it
powered off), prints every check line as it arrives, and ends with
"N passed, N failed"; exit status 1 if anything failed or never reported.
"""

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time

T0 = time.monotonic()


def elapsed():
    return time.monotonic() - T0


class Qmp:
    def __init__(self, path):
        self.sock = connect(path)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError(f"no QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self, timeout=60):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP: no answer")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("QMP socket closed")
                self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = self._read()
            if "event" in m:
                self.events.append(m)
            elif "error" in m:
                raise RuntimeError(f"{cmd}: {m['error'].get('desc', m['error'])}")
            elif "return" in m:
                return m["return"]

    def wait_event(self, name, device, timeout=60):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name and e.get("data", {}).get("device") == device:
                    del self.events[i]
                    return e
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name} event for {device}")
            m = self._read(left)
            if "event" in m:
                self.events.append(m)


def connect(path, timeout=30):
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--boot-timeout", type=float, default=300)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--idle-timeout", type=float, default=300,
                    help="stop when the guest says nothing for this long")
    ap.add_argument("--smp", default="2")
    a = ap.parse_args()

    work = a.work
    ctl_path = os.path.join(work, "ctl.sock")
    qmp_path = os.path.join(work, "qmp.sock")
    console = os.path.join(work, "console.log")
    for p in (ctl_path, qmp_path):
        if os.path.exists(p):
            os.unlink(p)
    cmdline = " ".join([
        "root=/dev/vda rw console=ttyS0,115200 panic=-1 fsck.mode=skip",
        # The whole journal on the serial console (console.log), for debugging.
        "systemd.journald.forward_to_console=1 systemd.show_status=1",
    ])
    qemu = [
        "qemu-system-x86_64", "-accel", "tcg", "-M", "pc", "-cpu", "max",
        "-smp", a.smp, "-m", "1024",
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-kernel", a.kernel, "-initrd", a.initrd, "-append", cmdline,
        "-chardev", f"file,id=con,path={console}", "-serial", "chardev:con",
        "-drive", f"file={a.disk},format=raw,if=none,id=root,cache=unsafe",
        "-device", "virtio-blk-pci,drive=root,addr=0x4",
        # ens3: on the boot NIC sit ens3.10, mv10 and web0.
        "-netdev", "hubport,id=n3,hubid=0",
        "-device", "virtio-net-pci,netdev=n3,addr=0x3,mac=52:54:00:12:34:03",
        "-device", "virtio-rng-pci,addr=0x6",
        "-device", "virtio-serial-pci,addr=0x5",
        "-chardev", f"socket,id=ctl,path={ctl_path},server=on,wait=off",
        "-device", "virtserialport,chardev=ctl,name=org.underlay.test",
        "-qmp", f"unix:{qmp_path},server=on,wait=off",
    ]
    with open(os.path.join(work, "qemu.cmd"), "w") as f:
        f.write(" ".join(qemu) + "\n")
    qlog = open(os.path.join(work, "qemu.log"), "w")
    proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=qlog, stderr=subprocess.STDOUT)

    checks = open(os.path.join(work, "checks.log"), "w")
    passed = failed = 0

    def out(line):
        print(line, flush=True)
        checks.write(f"[{elapsed():7.1f}] {line}\n")
        checks.flush()

    def result(ok, name, detail=None):
        nonlocal passed, failed
        if ok:
            passed += 1
            out(f"ok   - {name}")
        else:
            failed += 1
            out(f"FAIL - {name}")
            if detail:
                out(f"       {detail}")

    try:
        ctl = connect(ctl_path)
        qmp = Qmp(qmp_path)
    except Exception as e:  # noqa: BLE001 - report and stop
        proc.kill()
        result(False, "vm: QEMU started", f"{e}; see {work}/qemu.log")
        print(f"{passed} passed, {failed} failed")
        return 1

    nic = 0
    netdev = None

    def hotplug():
        nonlocal nic, netdev
        nic += 1
        netdev = f"n8-{nic}"
        qmp.execute("netdev_add", type="hubport", id=netdev, hubid=0)
        qmp.execute("device_add", driver="virtio-net-pci", id="nic8", netdev=netdev,
                    addr="0x8", mac="52:54:00:12:34:08")

    def unplug():
        qmp.execute("device_del", id="nic8")
        qmp.wait_event("DEVICE_DELETED", "nic8")
        qmp.execute("netdev_del", id=netdev)

    buf = b""
    hello = poweroff = witness = False
    poweroff_at = last_line = 0.0
    stopped = None
    while True:
        if proc.poll() is not None:
            stopped = f"QEMU exited (status {proc.returncode})"
            break
        now = elapsed()
        if not hello and now > a.boot_timeout:
            stopped = f"no HELLO from the guest within {a.boot_timeout:.0f} s"
            break
        if now > a.timeout:
            stopped = f"the whole run took over {a.timeout:.0f} s"
            break
        if poweroff and now > poweroff_at + 180:
            stopped = "no poweroff within 180 s"
            break
        if hello and now - last_line > a.idle_timeout:
            stopped = f"the guest said nothing for {a.idle_timeout:.0f} s"
            break
        r, _, _ = select.select([ctl], [], [], 1.0)
        if not r:
            continue
        last_line = elapsed()
        data = ctl.recv(65536)
        if not data:
            stopped = "the guest's port closed"
            break
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode(errors="replace").rstrip("\r")
            checks.write(f"[{elapsed():7.1f}] < {line}\n")
            checks.flush()
            if line == "HELLO":
                hello = True
                result(True, f"vm: guest booted, checks started at {elapsed():.0f} s")
            elif line.startswith("ok - "):
                result(True, line[5:])
            elif line.startswith("FAIL - "):
                result(False, line[7:])
            elif line.startswith("REQ "):
                what = line.split()[1]
                try:
                    {"hotplug": hotplug, "unplug": unplug}[what]()
                    reply = f"ACK {what}"
                except Exception as e:  # noqa: BLE001 - the guest reports it
                    reply = f"NAK {what} {e}"
                checks.write(f"[{elapsed():7.1f}] > {reply}\n")
                ctl.sendall(reply.encode() + b"\n")
            elif line == "POWEROFF":
                poweroff = True
                poweroff_at = elapsed()
            elif line == "WITNESS DONE":
                witness = True
            elif line.startswith("#"):
                out(f"     {line}")
            else:
                out(f"       {line}")
    try:
        rc = proc.wait(timeout=120 if witness else 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
        proc.wait()
    if not hello:
        result(False, "vm: guest booted and started the checks",
               f"no HELLO within {a.boot_timeout:.0f} s; see {console}")
    result(poweroff, "vm: guest ran every check and asked for poweroff",
           None if poweroff else f"stopped at {elapsed():.0f} s: {stopped}; see {console}")
    if hello:
        result(witness, "shutdown: the witness ran after underlay.service stopped",
               None if witness else f"see {console}")
        result(rc == 0, f"shutdown: the guest powered off, QEMU exited (after {elapsed():.0f} s in all)",
               None if rc == 0 else f"QEMU exit status {rc}; see {console}")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
