"""Facts about the Lambda runtime every function and the layer are built for (read by infra and layers/).

python3.13 rather than the newest managed runtime: it is the newest version the build machines have an
interpreter for, and that interpreter compiles the bytecode the assets ship (layers/bytecode.py). Shipped
bytecode makes cold-start imports 2-2.7x faster than the newer runtime compiling everything at each cold start.
"""

LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_ARCHITECTURE = "arm64"
