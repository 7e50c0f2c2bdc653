"""Pure decoders for Edge Impulse-compatible device ingestion (no database, no web framework).

The routes call `decode_upload` for every body or multipart file, store the returned
`DecodedSample`, and map `IngestionError.status` to the HTTP status. See docs/ingestion.md.
"""

from app.ingestion.acquisition import (
    EMPTY_SIGNATURE,
    REF_BINARY_DTYPES,
    parse_message,
    ref_binary_message,
    sign_acquisition,
    verify_hs256,
)
from app.ingestion.csv_format import TIMESTAMP_COLUMNS, decode_csv, encode_csv
from app.ingestion.decode import decode_upload, detect_format, read_values
from app.ingestion.errors import IngestionError
from app.ingestion.image import DEFAULT_MAX_IMAGE_PIXELS, decode_image, read_image
from app.ingestion.names import (
    decode_header_value,
    infer_label,
    parse_metadata_header,
    sanitize_filename,
    sanitize_label,
    split_category,
)
from app.ingestion.sample import (
    SAMPLE_FORMATS,
    SENSOR_KINDS,
    DecodedSample,
    image_hash,
    timeseries_hash,
)
from app.ingestion.wav import audio_sensors, decode_wav, encode_wav

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "EMPTY_SIGNATURE",
    "REF_BINARY_DTYPES",
    "SAMPLE_FORMATS",
    "SENSOR_KINDS",
    "TIMESTAMP_COLUMNS",
    "DecodedSample",
    "IngestionError",
    "audio_sensors",
    "decode_csv",
    "decode_header_value",
    "decode_image",
    "decode_upload",
    "decode_wav",
    "detect_format",
    "encode_csv",
    "encode_wav",
    "image_hash",
    "infer_label",
    "parse_message",
    "parse_metadata_header",
    "read_image",
    "read_values",
    "ref_binary_message",
    "sanitize_filename",
    "sanitize_label",
    "sign_acquisition",
    "split_category",
    "timeseries_hash",
    "verify_hs256",
]
