"""Binary masks -> the annotation encodings of COCO (polygons) and YouTube-VIS / OVIS (compressed RLE)."""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils
from skimage.measure import approximate_polygon, find_contours

__all__ = ["mask_to_polygons", "mask_to_rle", "polygon_area_bbox"]


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` tracing the boundary of a (H, W) bool mask.

    Contours run through the pixel-edge midpoints (marching squares at level 0.5) and are shifted by half a pixel
    into COCO's continuous coordinates, where pycocotools rasterises them back to exactly the same pixels (checked in
    the tests). Polygons cannot express holes; like COCO, a hole inside an object is filled.
    """
    padded = np.pad(mask.astype(np.float64), 1)
    out = []
    for contour in find_contours(padded, 0.5):
        contour = approximate_polygon(contour - 1.0 + 0.5, tolerance=0.0)
        if len(contour) < 3:
            continue
        out.append([round(float(v), 2) for rc in contour for v in (rc[1], rc[0])])
    return out


def polygon_area_bbox(polygons: list[list[float]], height: int, width: int) -> tuple[float, list[float]]:
    """Area and ``[x, y, w, h]`` box of COCO polygons, computed as the official annotations are (pycocotools)."""
    rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    return float(mask_utils.area(rle)), [round(float(v), 2) for v in mask_utils.toBbox(rle)]


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed RLE ``{"size": [H, W], "counts": str}`` as YouTube-VIS / OVIS store it."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}
