"""Screenshot of `gan-matting serve` for the README: the page in headless Chromium after matting a
procedural portrait (seed 7, 360x270) with the released model.

    .venv/bin/python experiments/web_screenshot.py [--out docs/web_page.png]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="docs/web_page.png")
    args = ap.parse_args()
    from gan_matting.data.io import write_image, write_trimap
    from gan_matting.data.synth import synth_sample
    from gan_matting.inference.predict import generator_predictor
    from gan_matting.models.weights import RELEASED_WEIGHTS, load_generator
    from gan_matting.web import MattingService, browser, create_app

    s = synth_sample(0, 7, 360, 270, ss=2, trimap_frac=(0.02, 0.04), photo_prob=0.0)
    G, _ = load_generator(RELEASED_WEIGHTS, "cpu")
    service = MattingService(generator_predictor(G), False)
    service.warm_up()
    app = create_app(service)
    with tempfile.TemporaryDirectory() as tmp:
        img, tri = Path(tmp) / "portrait.png", Path(tmp) / "portrait_trimap.png"
        write_image(img, s["image"])
        write_trimap(tri, s["trimap"])
        with browser.running_server(app) as url, browser.headless_chromium(Path(tmp) / "profile", 1280, 1500) as d:
            d.get(url)
            status = browser.matte_on_page(d, img, tri)
            if status != "done":
                raise SystemExit(f"the page said: {status}")
            d.execute_script("const s = document.getElementById('slider'); s.value = 45;"
                             "s.dispatchEvent(new Event('input'));")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(args.out)
    print(f"wrote {args.out}; unknown band {np.mean(s['trimap'] == 128):.1%}")


if __name__ == "__main__":
    main()
