"""deployscan dispatcher: turns deploy events into one CodeBuild scan per unique image.

Runs in the AWS Lambda Python runtime, so it depends on the standard library and boto3 only.
"""
