"""Re-export of :mod:`pyratok.data.errors` (the model library's video decoding raises these too, and the model
library must not import benchmark code)."""
from pyratok.data.errors import DatasetFormatError, SampleDecodeError, SampleFailure  # noqa: F401
