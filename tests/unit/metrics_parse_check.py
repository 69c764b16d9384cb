#!/usr/bin/env python3
"""Parses weft-metrics-sample's output with the Prometheus client's own parser and checks every family, its type and the
sample values the tool put in. Usage: metrics_parse_check.py <path to weft-metrics-sample>"""
import subprocess
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("prometheus_client is missing: install the Debian package python3-prometheus-client (scripts/deps.sh)")

ODD = 'odd"zone\\x\ny.chain'
BUCKETS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
           "+Inf"]


def main():
    text = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    families = list(text_string_to_metric_families(text))

    # The parser names a counter's family without _total, as OpenMetrics does; its samples keep _total.
    types = {f.name: f.type for f in families}
    assert len(types) == len(families), "a family appears twice"
    assert types == {
        "weft_build_info": "gauge",
        "weft_chain_call_duration_seconds": "histogram",
        "weft_chain_calls": "counter",
        "weft_chain_errors": "counter",
        "weft_chain_height": "gauge",
        "weft_chain_up": "gauge",
        "weft_process_start_time_seconds": "gauge",
        "weft_rpc_refusals": "counter",
        "weft_rpc_request_duration_seconds": "histogram",
        "weft_rpc_requests_in_flight": "gauge",
        "weft_rpc_requests": "counter",
        "weft_store_commits": "gauge",
        "weft_xa_transactions": "gauge",
    }, types
    assert all(f.documentation for f in families), "a family has no HELP text"

    samples = {}
    for f in families:
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in samples, f"sample {key} twice"
            samples[key] = s.value

    def value(name, **labels):
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("weft_build_info", version="1.2.3") == 1
    assert value("weft_process_start_time_seconds") == 1700000000.5
    assert value("weft_rpc_requests_in_flight") == 3

    assert value("weft_rpc_requests_total", family="sys", code="0") == 1
    assert value("weft_rpc_requests_total", family="resource", code="0") == 2
    assert value("weft_rpc_requests_total", family="resource", code="44002") == 1
    assert value("weft_rpc_requests_total", family="other", code="404") == 1
    assert len([k for k in samples if k[0] == "weft_rpc_requests_total"]) == 4

    assert value("weft_rpc_refusals_total", status="413") == 2
    assert value("weft_rpc_refusals_total", status="503") == 1
    for status in ("400", "408", "414", "431"):
        assert value("weft_rpc_refusals_total", status=status) == 0

    def histogram(name, **labels):
        buckets = [value(name + "_bucket", le=le, **labels) for le in BUCKETS]
        assert buckets == sorted(buckets), f"{name}{labels}: buckets are not cumulative: {buckets}"
        assert buckets[-1] == value(name + "_count", **labels)
        return dict(zip(BUCKETS, buckets)), value(name + "_sum", **labels)

    resource, resource_sum = histogram("weft_rpc_request_duration_seconds", family="resource")
    assert resource["0.005"] == 0 and resource["0.01"] == 1 and resource["0.5"] == 2 and resource["10"] == 2
    assert resource["+Inf"] == 3 and resource_sum == 20.3828125
    sys_, sys_sum = histogram("weft_rpc_request_duration_seconds", family="sys")
    assert sys_["0.0005"] == 1 and sys_sum == 0.000244140625
    other, _ = histogram("weft_rpc_request_duration_seconds", family="other")
    assert other["0.0005"] == 0 and other["0.001"] == 1
    for family in ("trans", "conn", "weft", "xa", "auth", "htlc"):
        empty, empty_sum = histogram("weft_rpc_request_duration_seconds", family=family)
        assert empty["+Inf"] == 0 and empty_sum == 0

    assert value("weft_chain_calls_total", chain="payment.bcos", verb="call") == 1
    assert value("weft_chain_calls_total", chain="payment.bcos", verb="sendTransaction") == 1
    assert value("weft_chain_calls_total", chain=ODD, verb="call") == 1
    assert value("weft_chain_errors_total", chain="payment.bcos", verb="sendTransaction") == 1
    assert len([k for k in samples if k[0] == "weft_chain_errors_total"]) == 1
    send, send_sum = histogram("weft_chain_call_duration_seconds", chain="payment.bcos", verb="sendTransaction")
    assert send["1"] == 0 and send["2.5"] == 1 and send_sum == 1.5
    odd, odd_sum = histogram("weft_chain_call_duration_seconds", chain=ODD, verb="call")
    assert odd["0.025"] == 0 and odd["0.05"] == 1 and odd_sum == 0.03125

    assert value("weft_chain_up", chain="payment.bcos") == 1
    assert value("weft_chain_up", chain="payment.eth") == 0
    assert value("weft_chain_up", chain=ODD) == 1
    assert value("weft_chain_height", chain="payment.bcos") == 1234
    assert value("weft_chain_height", chain=ODD) == 7
    assert ("weft_chain_height", (("chain", "payment.eth"),)) not in samples

    print(f"ok: {len(families)} families, {len(samples)} samples parsed by prometheus_client")


if __name__ == "__main__":
    main()
