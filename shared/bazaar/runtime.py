"""Facts about the Lambda runtime every function and the layer are built for (read by infra and layers/).

python3.13 rather than the newest managed runtime: it is the newest version the build machines have an
interpreter for, and that interpreter compiles the bytecode the assets ship (layers/bytecode.py). Shipped
bytecode makes cold-start imports 2-2.7x faster than the newer runtime compiling everything at each cold start.
"""

LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_ARCHITECTURE = "arm64"

# The AWS services the functions create clients for (pynamodb: dynamodb). The layer ships botocore with the data of
# these only (layers/sdk_data.py: the first client of a cold start no longer lists and parses every service's);
# tests/infra/test_layer_sdk.py checks that the shared code creates no client outside this list. sts: the
# credential providers that assume roles.
SDK_SERVICES = ("dynamodb", "sns", "sesv2", "cognito-idp", "secretsmanager", "sts")
