"""The Lambda context the benchmarks hand the sender (what its Logger and deadline read)."""


class Context:
    function_name = "email-sender"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:email-sender"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
