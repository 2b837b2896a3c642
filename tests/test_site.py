"""The leaderboard site (benchmarks.site), generated from the committed results/ in a temporary folder.

Static checks read the pages with the standard library's HTML parser and compare them with the committed table CSVs
and records (files the site generator does not read for those facts). The browser checks drive a real headless
Chromium over the DevTools protocol (``--remote-debugging-pipe``: JSON messages on file descriptors 3 and 4, so no
websocket package and no network): every page loads without console errors, a mouse click on a column header sorts
it, a click on a measured value opens that record's provenance, and a screenshot is written. They skip, saying why,
when no Chromium is installed (Debian: ``apt-get install chromium``; or set $PYRATOK_CHROMIUM to a binary).
"""
from __future__ import annotations

import base64
import csv
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from benchmarks.site import write_site

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"

# Hand-picked from the paper's Table 1 layout: the column "COCO PSNR" of the row "CogVideoX VAE (tiny)" is the
# cogvideox-vae record of benchmark coco-recon, metric psnr.
T1_ROW, T1_COL = "CogVideoX VAE (tiny)", "COCO PSNR"
T1_KEY = ("cogvideox-vae", "coco-recon", "psnr")


# ------------------------------------------------------------------------------------------------ helpers
class _Page(HTMLParser):
    """Rows of every <table> (cells as (attrs, text)), all src/href values, and <script> JSON blocks by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.links: list[str] = []
        self.scripts: dict[str, str] = {}
        self._table = self._row = self._cell = None
        self._script = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.links.append(a[k])
        if tag == "table":
            self._table = {"head": [], "rows": []}
            self.tables[a.get("id", f"t{len(self.tables)}")] = self._table
        elif tag == "tr" and self._table is not None:
            self._row = {"attrs": a, "cells": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [a, ""]
        elif tag == "script" and a.get("type") == "application/json":
            self._script = [a.get("id"), ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row["cells"].append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self._table["head"] if not self._table["head"] and not self._table["rows"]
             and all("data-type" in c[0] for c in self._row["cells"]) else self._table["rows"]).append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "script" and self._script is not None:
            self.scripts[self._script[0]] = self._script[1]
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if self._script is not None:
            self._script[1] += data


def parse(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def committed_csv(key: str) -> list[dict]:
    with open(RESULTS / "tables" / f"{key}.csv", newline="") as f:
        return list(csv.DictReader(f))


def committed_record(tokenizer: str, benchmark: str, metric: str) -> dict:
    """The committed record as every reader sees it: machine paths made portable (tests/test_portable_records.py)."""
    from benchmarks.records import portable

    for line in (RESULTS / "records" / f"{benchmark}.jsonl").read_text().splitlines():
        r = portable(json.loads(line))
        if (r["tokenizer"], r["benchmark"], r["metric"]) == (tokenizer, benchmark, metric):
            return r
    raise AssertionError(f"no committed record {tokenizer}/{benchmark}/{metric}")


def provenance_of(page: _Page, pid: str) -> dict[str, str]:
    data = json.loads(page.scripts["provenance-data"])
    item = data["items"][pid]
    return {data["labels"][k]: data["strings"][v] for k, v in item["fields"]}


def row_label(row) -> str:
    return re.sub(r"^(paper|measured|reference)\s+", "", row["cells"][0][1])


def first_number(text: str):
    m = re.search(r"[-+]?\d[\d,]*(?:\.\d+)?", text)
    return None if m is None else float(m.group(0).replace(",", ""))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not (RESULTS / "tables" / "table1.md").is_file():
        pytest.skip("no committed results/tables (run `python -m benchmarks.run`)")
    out = tmp_path_factory.mktemp("site")
    index = write_site(RESULTS, out)
    assert index == out / "index.html"
    return out


# ------------------------------------------------------------------------------------------------ static
def test_one_page_per_table_and_tokenizer(site):
    tables = [p.stem for p in (RESULTS / "tables").glob("*.md") if p.stem != "README"]
    tokenizers = json.loads((RESULTS / "tokenizers.json").read_text())
    assert (site / "index.html").is_file()
    for key in tables:
        assert (site / f"{key}.html").is_file(), key
    for name in tokenizers:
        assert (site / f"tokenizer-{name}.html").is_file(), name
    index = parse(site / "index.html")
    for key in tables:
        assert f"{key}.html" in index.links


def test_paper_and_measured_rows_match_the_committed_csv(site):
    for key in ("table1", "table5", "table9"):
        rows = parse(site / f"{key}.html").tables["table-main"]["rows"]
        want = {}
        for r in committed_csv(key):
            want.setdefault(r["row"], "paper" if r["numbers"] == "paper-reported" else "measured")
        got = {row_label(r): r["attrs"]["data-kind"] for r in rows}
        assert got == want, key


def test_measured_cell_provenance_is_its_record(site):
    page = parse(site / "table1.html")
    t = page.tables["table-main"]
    col = [c[1] for c in t["head"][0]["cells"]].index(T1_COL)
    row = next(r for r in t["rows"] if row_label(r) == T1_ROW)
    attrs, text = row["cells"][col]
    rec = committed_record(*T1_KEY)
    assert first_number(text) == pytest.approx(rec["value"], abs=0.005)
    prov = provenance_of(page, attrs["data-prov"])
    assert prov["Samples (n)"] == str(rec["n_samples"])
    assert prov["Data source"] == rec["data_source"]
    assert prov["Code version"] == rec["code_version"]
    assert prov["Protocol version"] == rec["protocol_version"]
    assert prov["Checkpoint sha256"] == rec["checkpoint_sha"]
    # paper cells open nothing
    paper = next(r for r in t["rows"] if r["attrs"]["data-kind"] == "paper")
    assert not any("data-prov" in c[0] for c in paper["cells"])


def test_pages_use_only_local_relative_assets(site):
    for page in site.glob("*.html"):
        for link in parse(page).links:
            assert not re.match(r"^(https?:)?//", link), f"{page.name}: network link {link}"
            target = link.split("#", 1)[0]
            if target:
                assert (page.parent / target).is_file(), f"{page.name}: {link} does not exist"


def test_committed_site_links_figures_in_place(tmp_path):
    # A site inside the results folder references ../figures/ instead of copying the (large) figures.
    res = tmp_path / "results"
    shutil.copytree(RESULTS / "tables", res / "tables")
    (res / "figures").mkdir()
    shutil.copy2(RESULTS / "figures" / "figure10_codebook_size.png", res / "figures")
    write_site(res, res / "site")
    assert not (res / "site" / "figures").exists()
    assert "../figures/figure10_codebook_size.png" in parse(res / "site" / "figure10.html").links


def _mini_results(root: Path, records: list[dict], md: str) -> Path:
    (root / "records").mkdir(parents=True)
    (root / "tables").mkdir()
    (root / "records" / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (root / "tables" / "tablex.md").write_text(md)
    return root


_MINI_MD = """# Table X: a hand-written table

| Method | Numbers | PSNR | Acc. (%) |
|---|---|---|---|
| Paper method | paper-reported | 30.00 | 50.0 |
| **Mine** | measured here (synthetic) | 20.00 | 61.2 |
| **Grey image** | reference (synthetic) | 10.50 | — |

Notes:
- a note that wraps
  onto a second line

Provenance of the measured cells:
- b (protocol v1): synthetic
"""


def _rec(tok, metric, value, **kw):
    return {"benchmark": "b", "tokenizer": tok, "metric": metric, "value": value, "table": "tablex",
            "n_samples": 8, "data_origin": "synthetic", "data_source": "synthetic: test", "protocol_version": "1",
            "code_version": "abc123", **kw}


def test_intervals_reference_rows_and_notes(tmp_path):
    recs = [_rec("mine", "psnr", 20.0, ci95=[19.5, 20.5]),                     # symmetric: ± 0.50
            _rec("mine", "acc", 0.612, ci95={"lo": 0.55, "hi": 0.70}),          # asymmetric, % column: [55.0, 70.0]
            _rec("grey", "psnr", 10.5, ci95_lo=10.0, ci95_hi=11.0, reference=True, note="grey frames"),
            _rec("mine", "ssim", 0.3, new_field="shown too")]                  # not in the table
    res = _mini_results(tmp_path / "results", recs, _MINI_MD)
    out = write_site(res, tmp_path / "site").parent
    page = parse(out / "tablex.html")
    rows = {row_label(r): r for r in page.tables["table-main"]["rows"]}
    assert [r["attrs"]["data-kind"] for r in rows.values()] == ["paper", "measured", "reference"]
    psnr, acc = rows["Mine"]["cells"][2], rows["Mine"]["cells"][3]
    assert psnr[1] == "20.00 ± 0.50"
    assert acc[1] == "61.2 [55.0, 70.0]"
    assert rows["Grey image"]["cells"][2][1] == "10.50 ± 0.50"
    prov = provenance_of(page, rows["Grey image"]["cells"][2][0]["data-prov"])
    assert prov["Note"] == "grey frames" and prov["95 % interval"] == "[10, 11]"
    assert "a note that wraps onto a second line" in (out / "tablex.html").read_text()
    tok = parse(out / "tokenizer-mine.html")
    cells = [r["cells"] for r in tok.tables["table-records"]["rows"]]
    ssim = next(c for c in cells if c[1][1] == "ssim")
    assert provenance_of(tok, ssim[2][0]["data-prov"])["new_field"] == "shown too"


def _no_declarations(monkeypatch):
    import benchmarks.tables.render as render

    def unavailable():
        raise ImportError("declarations moved")

    monkeypatch.setattr(render, "collect_specs", unavailable)


_AMBIGUOUS_MD = """# Table Y: top-1 and mean-class accuracy are equal here

| Method | Numbers | PSNR | Top-1 (%) |
|---|---|---|---|
| **Mine** | measured here (synthetic) | 20.00 | 50.0 |
"""
_AMBIGUOUS = [_rec("mine", "psnr", 20.0, table="tabley"), _rec("mine", "top1", 0.5, table="tabley"),
              _rec("mine", "mean_class_accuracy", 0.5, table="tabley")]


def test_without_declarations_only_unambiguous_cells_link(tmp_path, monkeypatch):
    _no_declarations(monkeypatch)
    out = tmp_path / "site"
    write_site(RESULTS, out)
    page = parse(out / "table1.html")
    t = page.tables["table-main"]
    col = [c[1] for c in t["head"][0]["cells"]].index(T1_COL)
    row = next(r for r in t["rows"] if row_label(r) == T1_ROW)
    prov = provenance_of(page, row["cells"][col][0]["data-prov"])
    assert (prov["Tokenizer"], prov["Benchmark"], prov["Metric"]) == T1_KEY

    res = tmp_path / "mini"
    _mini_results(res, _AMBIGUOUS, _AMBIGUOUS_MD)
    (res / "tables" / "tablex.md").rename(res / "tables" / "tabley.md")
    write_site(res, tmp_path / "mini-site")
    cells = parse(tmp_path / "mini-site" / "tabley.html").tables["table-main"]["rows"][0]["cells"]
    assert "data-prov" in cells[2][0]          # PSNR: one record prints as 20.00
    assert "data-prov" not in cells[3][0]      # 50.0: top1 or mean_class_accuracy — left unlinked


def test_table_csv_naming_the_record_wins(tmp_path, monkeypatch):
    _no_declarations(monkeypatch)
    res = tmp_path / "mini"
    _mini_results(res, _AMBIGUOUS, _AMBIGUOUS_MD)
    (res / "tables" / "tablex.md").rename(res / "tables" / "tabley.md")
    (res / "tables" / "tabley.csv").write_text(
        "row,numbers,column,value,tokenizer,benchmark,metric\n"
        "Mine,measured here (synthetic),PSNR,20.00,mine,b,psnr\n"
        "Mine,measured here (synthetic),Top-1 (%),50.0,mine,b,top1\n")
    write_site(res, tmp_path / "site")
    page = parse(tmp_path / "site" / "tabley.html")
    cells = page.tables["table-main"]["rows"][0]["cells"]
    assert provenance_of(page, cells[3][0]["data-prov"])["Metric"] == "top1"


def test_rewrite_removes_only_its_own_stale_pages(tmp_path):
    res = _mini_results(tmp_path / "results", [_rec("mine", "psnr", 20.0), _rec("old", "psnr", 1.0)], _MINI_MD)
    out = tmp_path / "site"
    write_site(res, out)
    assert (out / "tokenizer-old.html").is_file()
    (out / "mine.html").write_text("<html>not generated</html>")
    (res / "records" / "b.jsonl").write_text(json.dumps(_rec("mine", "psnr", 20.0)) + "\n")
    write_site(res, out)
    assert not (out / "tokenizer-old.html").exists()
    assert (out / "mine.html").is_file()


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="tables"):
        write_site(tmp_path, tmp_path / "site")
    res = _mini_results(tmp_path / "r", [_rec("mine", "psnr", 20.0)], _MINI_MD)
    with open(res / "records" / "b.jsonl", "a") as f:
        f.write("{not json\n")
    with pytest.raises(ValueError, match=r"b\.jsonl:2"):
        write_site(res, tmp_path / "site")


# ------------------------------------------------------------------------------------------------ browser
def chromium_binary() -> str | None:
    env = os.environ.get("PYRATOK_CHROMIUM")
    if env:
        return env
    for cand in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")):
        if cand and os.path.exists(cand):
            return cand
    return None


class DevTools:
    """A headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: messages out)."""

    def __init__(self, exe: str, profile: Path):
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def fds():
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-pipe",
             "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)  # fds 3/4 from dup2 are inheritable
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._id, self._replies, self.events = 0, {}, queue.Queue()
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cv:
                        self._replies[msg["id"]] = msg
                        self._cv.notify_all()
                else:
                    self.events.put(msg)

    def call(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 30):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        with self._cv:
            if not self._cv.wait_for(lambda: self._id in self._replies, timeout):
                raise TimeoutError(f"Chromium did not answer {method} in {timeout}s")
            reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def js(self, expression: str):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def load(self, url: str, timeout: float = 30) -> list[str]:
        """Navigate and wait for the load event; returns the console errors, exceptions and failed loads."""
        self.drain()
        self.call("Page.navigate", {"url": url}, session=True)
        seen, errors = [], []
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{url} did not finish loading in {timeout}s") from None
            seen.append(ev)
            if ev.get("method") == "Page.loadEventFired":
                break
        self.js("new Promise(r => setTimeout(r, 50))")
        for ev in seen + self.drain():
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                errors.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')} "
                              f"at {d.get('url')}:{d.get('lineNumber')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console.error: " + " ".join(str(a.get("value", a)) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return errors

    def click(self, selector: str):
        """A real mouse click (pressed + released) at the centre of the element."""
        box = self.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            if (!el) return null; el.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        assert box is not None, f"no element {selector}"
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1}, session=True)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 — fall through to terminating the process
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = chromium_binary()
    if exe is None:
        pytest.skip("no Chromium found (Debian: `apt-get install -y chromium`, or set $PYRATOK_CHROMIUM): "
                    "the site's browser tests need a real headless browser")
    b = DevTools(exe, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def test_every_page_loads_without_console_errors(site, browser):
    for page in sorted(site.glob("*.html")):
        errors = browser.load(page.as_uri())
        assert errors == [], f"{page.name}: {errors}"
        assert browser.js("document.querySelectorAll('table.sortable thead th[aria-sort]').length") > 0, page.name


def test_click_sorts_a_column_and_opens_provenance(site, browser, tmp_path):
    assert browser.load((site / "table1.html").as_uri()) == []
    heads = browser.js("[...document.querySelectorAll('#table-main thead th')].map(t => t.textContent.trim())")
    col = heads.index(T1_COL)
    values = lambda: browser.js(  # noqa: E731
        f"[...document.querySelectorAll('#table-main tbody tr')].map(r => r.cells[{col}].textContent.trim())")
    want = sorted(float(r["value"]) for r in committed_csv("table1") if r["column"] == T1_COL)

    browser.click(f"#table-main thead th:nth-child({col + 1})")
    got = [first_number(v) for v in values()]
    assert [g for g in got if g is not None] == pytest.approx(want)
    assert all(g is None for g in got[len(want):])  # cells without a number go last
    assert browser.js(f"document.querySelector('#table-main thead th:nth-child({col + 1})')"
                      ".getAttribute('aria-sort')") == "ascending"
    browser.click(f"#table-main thead th:nth-child({col + 1})")
    got = [first_number(v) for v in values()]
    assert [g for g in got if g is not None] == pytest.approx(want[::-1])

    assert browser.js("document.getElementById('provenance').hidden") is True
    rows = browser.js("[...document.querySelectorAll('#table-main tbody tr')].map(r => "
                      "r.cells[0].textContent.replace(/^(paper|measured|reference)\\s+/, '').trim())")
    browser.click(f"#table-main tbody tr:nth-child({rows.index(T1_ROW) + 1}) td:nth-child({col + 1})")
    assert browser.js("getComputedStyle(document.getElementById('provenance')).display") != "none"
    shown = browser.js("document.getElementById('provenance').innerText")
    rec = committed_record(*T1_KEY)
    for text in (rec["data_source"], rec["code_version"], rec["checkpoint_sha"], f"{rec['value']}"):
        assert str(text) in shown
    shot = browser.screenshot(Path(os.environ.get("PYRATOK_SITE_SCREENSHOTS", tmp_path)) / "table1-provenance.png")
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(head[16:20], "big") == 1400  # PNG IHDR width = the viewport
    browser.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
    assert browser.js("document.getElementById('provenance').hidden") is True
