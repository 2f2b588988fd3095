"""`gan-matting serve`: the strokes -> trimap rule, the JSON endpoint's answers and limits (Starlette's
test client), and the page itself driven in headless Chromium against a real server on loopback."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_matting import GanMattingError
from gan_matting.data.trimap import trimap_from_strokes

pytest.importorskip("starlette", reason="starlette is a core dependency (setup.cfg)")
from gan_matting.web import Limits, MattingService, create_app  # noqa: E402

H, W = 57, 71  # odd sides


def _sample(seed: int = 3):
    from gan_matting.data.synth import synth_sample
    return synth_sample(0, seed, W, H, ss=2, trimap_frac=(0.06, 0.1), photo_prob=0.0)


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    a = arr if arr.dtype == np.uint8 else (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(a, mode).save(buf, format="PNG")
    return buf.getvalue()


def _decode(data_url: str) -> Image.Image:
    head, b64 = data_url.split(",", 1)
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(b64)))


@pytest.fixture(scope="module")
def service():
    """The released generator behind the page, as `gan-matting serve` builds it."""
    from gan_matting.inference.predict import generator_predictor
    from gan_matting.models.weights import RELEASED_WEIGHTS, load_generator
    G, _ = load_generator(RELEASED_WEIGHTS, "cpu")
    return MattingService(generator_predictor(G), bool(getattr(G, "trimap_free", False)))


# ---------------------------------------------------------------- strokes -> trimap

def test_outline_encloses_foreground_and_border_regions_are_background():
    s = np.zeros((40, 50), np.uint8)
    yy, xx = np.mgrid[0:40, 0:50]
    ring = np.abs(np.hypot(yy - 20, xx - 25) - 10) < 2.5
    s[ring] = 128
    tri = trimap_from_strokes(s)
    assert (tri[ring] == 128).all()
    assert tri[20, 25] == 255 and tri[0, 0] == 0 and tri[39, 49] == 0
    assert set(np.unique(tri)) == {0, 128, 255}


def test_foreground_dab_claims_a_region_that_touches_the_border():
    # a portrait cut by the bottom edge: the band runs from the left edge over the head to the right edge
    s = np.zeros((40, 50), np.uint8)
    s[18:22, :] = 128
    with pytest.raises(GanMattingError, match="encloses no foreground"):
        trimap_from_strokes(s)
    s[35, 25] = 255  # one dab below the band
    tri = trimap_from_strokes(s)
    assert (tri[25:, :] == 255).all() and (tri[:15, :] == 0).all() and (tri[18:22] == 128).all()


def test_no_band_is_a_clear_error():
    with pytest.raises(GanMattingError, match="no unknown band"):
        trimap_from_strokes(np.zeros((8, 8), np.uint8))


# ---------------------------------------------------------------- the endpoint

@pytest.fixture(scope="module")
def client(service):
    from starlette.testclient import TestClient
    return TestClient(create_app(service))


def test_matte_answers_full_size_alpha_and_rgba(client):
    s = _sample()
    r = client.post("/api/matte", files={"image": ("x.jpg", _png(s["image"]), "image/png"),
                                          "trimap": ("t.png", _png(s["trimap"]), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    alpha, rgba = _decode(body["alpha"]), _decode(body["rgba"])
    assert alpha.size == (W, H) and rgba.size == (W, H) and rgba.mode == "RGBA"
    a = np.asarray(alpha, np.float32) / 255
    tri = s["trimap"]
    assert (a[tri == 255] == 1).all() and (a[tri == 0] == 0).all()   # known regions kept
    assert np.array_equal(np.asarray(rgba)[..., 3], np.asarray(alpha))  # the cut-out carries that alpha
    x, y, cw, ch = body["crop"]
    assert 0 <= x <= W - cw and 0 <= y <= H - ch and _decode(body["photo_crop"]).size == (cw, ch)
    # the model beats a flat 0.5 in the unknown band of an image it never saw
    assert np.abs(a - s["alpha"])[tri == 128].mean() < np.abs(0.5 - s["alpha"])[tri == 128].mean()
    assert body["unknown"] == pytest.approx((tri == 128).mean(), abs=1e-4)


def test_painted_band_becomes_the_trimap(client):
    s = _sample()
    strokes = np.where(s["trimap"] == 128, 128, 0).astype(np.uint8)
    ys, xs = np.nonzero(s["trimap"] == 255)
    strokes[ys[len(ys) // 2], xs[len(xs) // 2]] = 255  # one foreground dab: the portrait runs off the edge
    rgb = np.repeat(strokes[..., None], 3, -1)  # the page sends an opaque RGB(A) canvas
    r = client.post("/api/matte", files={"image": ("x.png", _png(s["image"]), "image/png"),
                                          "strokes": ("s.png", _png(rgb), "image/png")})
    assert r.status_code == 200, r.text
    a = np.asarray(_decode(r.json()["alpha"]), np.float32) / 255
    inside = trimap_from_strokes(strokes)
    assert (a[inside == 255] == 1).all() and (a[inside == 0] == 0).all()


@pytest.mark.parametrize("files, status, words", [
    ({}, 400, "no image"),
    ({"image": ("x.png", b"not an image at all", "image/png")}, 400, "not an image file"),
    ({"image": ("x.png", _png(np.zeros((9, 9, 3), np.uint8)), "image/png")}, 400, "needs a trimap"),
    ({"image": ("x.png", _png(np.zeros((9, 9, 3), np.uint8)), "image/png"),
      "trimap": ("t.png", _png(np.full((9, 8), 128, np.uint8)), "image/png")}, 400, "size mismatch"),
    ({"image": ("x.png", _png(np.zeros((9, 9, 3), np.uint8)), "image/png"),
      "trimap": ("t.png", _png(np.full((9, 9), 77, np.uint8)), "image/png")}, 400, "other than 0/128/255"),
])
def test_bad_uploads_get_one_line_errors(client, files, status, words):
    r = client.post("/api/matte", files=files) if files else client.post("/api/matte", data={"x": "1"})
    assert r.status_code == status
    assert words in r.json()["error"] and "\n" not in r.json()["error"]


def test_limits_refuse_big_uploads_and_big_images(service, tmp_path):
    from starlette.testclient import TestClient
    small = MattingService(service.predict, service.trimap_free, Limits(max_upload_bytes=20_000, max_pixels=5_000))
    c = TestClient(create_app(small))
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)  # ~30 kB PNG
    r = c.post("/api/matte", files={"image": ("x.png", _png(noise), "image/png")})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    big = _png(np.zeros((80, 80, 3), np.uint8))  # 6,400 px, compresses to a few hundred bytes
    r = c.post("/api/matte", files={"image": ("x.png", big, "image/png"),
                                     "trimap": ("t.png", _png(np.full((80, 80), 128, np.uint8)), "image/png")})
    assert r.status_code == 413 and "Mpx" in r.json()["error"]


def test_uploads_live_only_in_a_temporary_folder(client, monkeypatch, tmp_path):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s = _sample()
    r = client.post("/api/matte", files={"image": ("../../evil.png", _png(s["image"]), "image/png"),
                                          "trimap": ("t.png", _png(s["trimap"]), "image/png")})
    assert r.status_code == 200
    assert list(tmp_path.iterdir()) == []  # the per-request folder is gone, nothing else was written
    assert not Path("evil.png").exists()


def test_page_and_info(client):
    r = client.get("/")
    assert r.status_code == 200 and 'id="image-input"' in r.text and 'id="download"' in r.text
    assert client.get("/api/info").json()["trimap_free"] is False


def test_serve_refuses_a_public_host_without_asking():
    from gan_matting.cli import main
    assert main(["serve", "--host", "0.0.0.0"]) == 1


# ---------------------------------------------------------------- the page in a real browser

def test_page_in_headless_chromium(service, tmp_path):
    from gan_matting.web import browser
    if not (browser.CHROMIUM and browser.CHROMEDRIVER):
        pytest.skip(browser.MISSING)
    pytest.importorskip("selenium", reason="selenium is a dev dependency (setup.cfg)")
    from selenium.webdriver.common.by import By

    s = _sample()
    img_path, tri_path = tmp_path / "hair.png", tmp_path / "hair_trimap.png"
    img_path.write_bytes(_png(s["image"]))
    tri_path.write_bytes(_png(s["trimap"]))
    with browser.running_server(create_app(service)) as url, browser.headless_chromium(tmp_path / "profile") as d:
        d.get(url)
        assert browser.matte_on_page(d, img_path, tri_path) == "done"
        # the alpha image is on the page, decoded, at the input's size
        assert d.execute_script("const i = document.getElementById('alpha-img');"
                                "return [i.complete, i.naturalWidth, i.naturalHeight];") == [True, W, H]
        assert d.find_element(By.ID, "results").is_displayed()
        # the download is a valid RGBA PNG of the input's size whose alpha is the matte shown
        png = Image.open(io.BytesIO(browser.download_bytes(d)))
        assert png.format == "PNG" and png.mode == "RGBA" and png.size == (W, H)
        assert d.find_element(By.ID, "download").get_attribute("download") == "hair_rgba.png"
        tri = s["trimap"]
        a = np.asarray(png)[..., 3]
        assert (a[tri == 255] == 255).all() and (a[tri == 0] == 0).all()
        # paint a ring with the brush instead of the trimap: inside becomes foreground, outside background
        from selenium.webdriver.common.action_chains import ActionChains
        d.find_element(By.ID, "trimap-input").clear()
        d.execute_script("const b = document.getElementById('brush-size'); b.value = 6;")
        overlay = d.find_element(By.ID, "overlay")
        rect = d.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", overlay)
        assert rect == [W, H]  # shown at the photo's own size, so page pixels are image pixels
        ring = [(round(18 * np.cos(t)), round(18 * np.sin(t))) for t in np.linspace(0, 2 * np.pi, 25)]
        chain = ActionChains(d).move_to_element_with_offset(overlay, *ring[0]).click_and_hold()
        for p, q in zip(ring, ring[1:]):
            chain = chain.move_by_offset(q[0] - p[0], q[1] - p[1])
        chain.release().perform()
        assert browser.matte_on_page(d, None, None) == "done"  # the photo already chosen, with its paint
        a = np.asarray(Image.open(io.BytesIO(browser.download_bytes(d))))[..., 3]
        cy, cx = H // 2, W // 2  # Selenium's offsets count from the element's centre
        # enclosed by the ring: known foreground. The 6 px brush (brush-size 6 at 1:1) on an 18 px ring of 24
        # chords leaves a disk of ~14.8 px radius unpainted; its centre 5x5 is known whatever the model does
        assert (a[cy - 2:cy + 3, cx - 2:cx + 3] == 255).all()
        assert a[0, 0] == 0 and a[-1, -1] == 0                 # outside it: known background
        timing = d.find_element(By.ID, "timing").text            # "71x57, matted in 0.05 s, 30.1 % unknown"
        assert 3 < float(timing.split(", ")[2].split(" ")[0]) < 60, timing
        # choosing a photo drops the paint at once, in the change handler (it used to survive until the new
        # photo had loaded, so a Matte press in that window sent the old photo's strokes); one script, so
        # the photo's load cannot run in between
        assert d.execute_script("document.getElementById('image-input').dispatchEvent(new Event('change'));"
                                "return [painted, strokes === null];") == [False, True]
        # a bad file gets the server's one-line error on the page, in the error style
        bad = tmp_path / "broken.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        d.find_element(By.ID, "trimap-input").clear()
        status = browser.matte_on_page(d, bad, None)
        assert "corrupt" in status or "not an image" in status, status
        d.save_screenshot(str(tmp_path / "page.png"))
        assert (tmp_path / "page.png").stat().st_size > 10_000
