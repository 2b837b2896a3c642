"""Paper tables from result records: declarative specs (spec.py) and the renderer (render.py)."""
