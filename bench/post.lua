-- wrk script: POST the half_plus_two predict body (bench/server_bench.py).
wrk.method = "POST"
wrk.body = '{"instances": [1.0, 2.0, 5.0]}'
wrk.headers["Content-Type"] = "application/json"
