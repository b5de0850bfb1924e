"""The staff workspace's `allPages` (static/staff/api.js), run in node: it follows `next_cursor` until it is null,
so a list longer than a page (API.md, Conventions) is shown whole.

Without node (Debian's `nodejs` package) these tests skip, or fail under CLINIC_REQUIRE_BACKENDS=1 (CI).
"""
from pathlib import Path

import pytest

import gateway

SCRIPT = Path(gateway.__file__).parent / "static" / "staff" / "api.js"

# A list of five served two at a time, the way the services page: the cursor is where the last page ended.
DRIVER = """
const { pathToFileURL } = await import("node:url");
const { allPages } = await import(pathToFileURL(process.argv[1]).href);
const list = ["a", "b", "c", "d", "e"];
const calls = [];
const request = async (path) => {
  calls.push(path);
  const cursor = new URL(path, "http://x").searchParams.get("cursor");
  const from = cursor === null ? 0 : list.indexOf(cursor) + 1;
  const page = list.slice(from, from + 2);
  return { things: page, next_cursor: from + 2 < list.length ? page[page.length - 1] : null };
};
const out = {};
out.filtered = await allPages("/api/things?status=x", "things", request);
out.filteredCalls = calls.splice(0);
out.plain = await allPages("/api/things", "things", request);
out.plainCalls = calls.splice(0);
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def result(run_node):
    return run_node("--input-type=module", "-e", DRIVER, str(SCRIPT))


def test_every_page_is_fetched_in_order_and_nothing_twice(result):
    assert result["filtered"] == ["a", "b", "c", "d", "e"]
    assert result["plain"] == ["a", "b", "c", "d", "e"]


def test_the_cursor_is_added_to_the_lists_own_query(result):
    assert result["filteredCalls"] == ["/api/things?status=x", "/api/things?status=x&cursor=b",
                                       "/api/things?status=x&cursor=d"]
    assert result["plainCalls"] == ["/api/things", "/api/things?cursor=b", "/api/things?cursor=d"]
