"""CSV samples: timestamp columns, fixed intervals, single readings, units, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from app.ingestion import IngestionError, decode_upload, encode_csv, read_values, sign_acquisition


def decode(text: str | bytes, **kw):
    data = text.encode() if isinstance(text, str) else text
    return decode_upload(data, filename="idle.01.csv", content_type="text/csv", hmac_keys=[], **kw)


def reject(text: str | bytes, status: int = 400, **kw) -> str:
    with pytest.raises(IngestionError) as info:
        decode(text, **kw)
    assert info.value.status == status, info.value.message
    return info.value.message


def test_edge_impulse_doc_example_with_timestamp_column():
    text = (
        "timestamp,accX,accY,accZ\n"
        "0,4.220828473773600,1.8800472920291100,-16.89228981323240\n"
        "16,4.471770735278730,2.0017025177553300,-17.887080018505500\n"
        "32,4.31928972478658,2.4953566802978500,-18.926163539013300\n"
        "48,4.648792312787470,2.958335718591510,-18.5336641043514\n"
        "64,4.773739711926880,2.719663740594690,-18.800019623565700\n"
        "80,4.653879991315310,2.6865938301637800,-19.98305510341230\n"
    )
    sample = decode(text)
    assert sample.format == "csv" and sample.kind == "timeseries"
    assert sample.interval_ms == 16 and sample.rows == 6
    assert [s["name"] for s in sample.sensors] == ["accX", "accY", "accZ"]
    assert all(s["units"] == "" for s in sample.sensors)
    assert sample.values[0].tolist() == pytest.approx([4.2208285, 1.8800473, -16.89229])
    assert sample.metadata["timestamp_column"] == "timestamp"


def test_edge_impulse_doc_single_reading_without_timestamp():
    sample = decode("accX,accY,accZ\n4.220828473773600,1.8800472920291100,-16.89228981323240\n")
    assert sample.rows == 1 and sample.interval_ms == 0 and sample.metadata["single_reading"]


def test_python_sdk_pandas_layouts():
    # upload_pandas_sample / dataframe_with_group: df.to_csv(index_label="timestamp"), ms timestamps
    sample = decode(
        "timestamp,accX,accY,accZ\n0,-9.81,0.03,0.21\n10,-9.83,0.04,0.27\n20,-9.12,0.03,0.23\n"
    )
    assert sample.interval_ms == 10 and sample.values.shape == (3, 3)
    # upload_pandas_dataframe_wide, single axis: the series name becomes the column header
    sample = decode("timestamp,0\n0,0.8\n100,0.7\n200,0.8\n")
    assert sample.sensors == [{"name": "0", "units": ""}] and sample.interval_ms == 100
    # upload_pandas_dataframe (non-time-series): one row, no index column
    sample = decode("accX,accY,accZ\n-9.81,0.03,0.21\n")
    assert sample.rows == 1 and sample.interval_ms == 0


def test_fixed_interval_from_the_caller_when_there_is_no_timestamp():
    sample = decode("a,b\n1,2\n3,4\n5,6\n", interval_ms=4)
    assert sample.interval_ms == 4 and sample.rows == 3
    message = reject("a,b\n1,2\n3,4\n")
    assert "no timestamp column" in message and "interval_ms" in message
    assert "interval_ms" in reject("a,b\n1,2\n3,4\n", interval_ms=0)
    assert "interval_ms" in reject("a,b\n1,2\n3,4\n", interval_ms=-2)


def test_timestamp_columns_by_name_and_unit():
    assert decode("time,x\n0,1\n20,2\n40,3\n").interval_ms == 20
    assert decode("TIMESTAMP_MS,x\n100,1\n105,2\n").interval_ms == 5
    assert decode("ms;x\n0;1\n2;2\n").interval_ms == 2  # semicolon-separated
    assert decode("timestamp\tx\n0\t1\n4\t2\n").interval_ms == 4  # tab-separated
    assert decode("time (s),x\n0,1\n0.01,2\n0.02,3\n").interval_ms == pytest.approx(10)
    assert decode("t (us),x\n0,1\n500,2\n").interval_ms == pytest.approx(0.5)
    # timestamps win over a caller's interval: the file describes itself
    assert decode("timestamp,x\n0,1\n8,2\n", interval_ms=99).interval_ms == 8
    assert "unit" in reject("time (h),x\n0,1\n1,2\n")


def test_jittery_timestamps_give_the_mean_interval_and_report_jitter():
    sample = decode("timestamp,x\n0,1\n9,2\n21,3\n30,4\n")
    assert sample.interval_ms == 10
    assert sample.metadata["interval_jitter_ms"] == pytest.approx(2)


def test_units_from_headers():
    sample = decode("timestamp,accX (m/s2),gyrY [deg/s], temp\n0,1,2,3\n10,4,5,6\n")
    assert sample.sensors == [
        {"name": "accX", "units": "m/s2"},
        {"name": "gyrY", "units": "deg/s"},
        {"name": "temp", "units": ""},
    ]


def test_bom_crlf_and_trailing_blank_lines_are_accepted():
    sample = decode(b"\xef\xbb\xbftimestamp,x\r\n0,1\r\n10,2\r\n\r\n\r\n")
    assert sample.rows == 2 and sample.sensors == [{"name": "x", "units": ""}]


BAD_CSVS = [
    ("empty", "", "empty"),
    ("header only", "timestamp,x\n", "no data rows"),
    ("timestamp only", "timestamp\n0\n10\n", "no data columns"),
    ("two timestamp columns", "timestamp,time,x\n0,0,1\n1,1,2\n", "more than one timestamp"),
    ("empty column name", "timestamp,,x\n0,1,2\n10,3,4\n", "empty column name"),
    ("short row", "timestamp,x,y\n0,1,2\n10,3\n", "row 3 has 2 columns"),
    ("long row", "timestamp,x\n0,1,2\n", "row 2 has 3 columns"),
    ("text value", "timestamp,x\n0,1\n10,abc\n", "'abc' is not a number"),
    ("empty cell", "timestamp,x\n0,1\n10,\n", "is not a number"),
    ("nan value", "timestamp,x\n0,nan\n10,1\n", "not a finite number"),
    ("inf value", "timestamp,x\n0,1\n10,-inf\n", "not a finite number"),
    ("huge value", "timestamp,x\n0,1e39\n10,1\n", "float32"),
    ("non-monotonic", "timestamp,x\n0,1\n10,2\n5,3\n", "increase strictly"),
    ("repeated timestamp", "timestamp,x\n0,1\n0,2\n", "increase strictly"),
    ("control chars in header", "timestamp,a\x01b\n0,1\n10,2\n", "control"),
]


@pytest.mark.parametrize("case, text, needle", BAD_CSVS, ids=[c[0] for c in BAD_CSVS])
def test_bad_csv_files(case, text, needle):
    message = reject(text)
    assert needle.lower() in message.lower(), message


def test_binary_bytes_named_csv_are_rejected():
    assert "UTF-8" in reject(b"\xff\xfe\x00\x01binary")
    assert "NUL" in reject(b"a,b\n1,\x002\n")


def test_encode_csv_round_trips_and_matches_the_json_hash():
    values = np.array([[1.5, -2.25, 3.0], [4.0, 5.5, -6.75]], dtype=np.float32)
    sensors = [
        {"name": "accX", "units": "m/s2"},
        {"name": "accY", "units": "m/s2"},
        {"name": "accZ", "units": "m/s2"},
    ]
    csv_bytes = encode_csv(
        values,
        sensor_names=[s["name"] for s in sensors],
        units=[s["units"] for s in sensors],
        interval_ms=10,
    )
    from_csv = decode(csv_bytes)
    np.testing.assert_array_equal(from_csv.values, values)
    from_json = decode_upload(
        sign_acquisition(
            {"device_type": "T", "interval_ms": 10, "sensors": sensors, "values": values.tolist()},
            hmac_key=None,
        ),
        filename="x.json",
        content_type=None,
        hmac_keys=[],
    )
    assert from_csv.content_hash == from_json.content_hash
    no_ts = encode_csv(values, sensor_names=["a", "b", "c"], interval_ms=None)
    assert no_ts.splitlines()[0] == b"a,b,c"
    again, interval, sensors_read = read_values(no_ts, format="csv", interval_ms=2.5)
    np.testing.assert_array_equal(again, values)
    assert interval == 2.5 and [s["name"] for s in sensors_read] == ["a", "b", "c"]
