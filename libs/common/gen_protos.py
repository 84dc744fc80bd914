"""Generate the Python protobuf/gRPC modules from ../../protos.

Run by scripts/bootstrap.sh on every install and by each Dockerfile's build
stage; the output is git-ignored so it can never be stale. The .proto files are
copied under pentagon/common/proto/ first so the generated modules import each
other as ``pentagon.common.proto.x_pb2`` instead of top-level names.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
OUT = HERE / "src"
PACKAGE_DIR = Path("pentagon/common/proto")


def main(protos_dir: Path) -> int:
    protos = sorted(protos_dir.glob("*.proto"))
    if not protos:
        print(f"no .proto files in {protos_dir}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / PACKAGE_DIR
        staged.mkdir(parents=True)
        for proto in protos:
            shutil.copy(proto, staged / proto.name)
        well_known = Path(grpc_tools.__file__).parent / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{tmp}",
            f"-I{well_known}",
            f"--python_out={OUT}",
            f"--pyi_out={OUT}",
            f"--grpc_python_out={OUT}",
            *[str(PACKAGE_DIR / p.name) for p in protos],
        ]
        import os

        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            code = protoc.main(args)
        finally:
            os.chdir(cwd)
    if code == 0:
        print(f"generated {len(protos)} protos into {OUT / PACKAGE_DIR}")
    return code


if __name__ == "__main__":
    default = HERE.parent.parent / "protos"
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
