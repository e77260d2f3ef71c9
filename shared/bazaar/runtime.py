"""Facts about the Lambda runtime every function and the layer are built for (read by infra and layers/build.sh)."""

LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_ARCHITECTURE = "arm64"
