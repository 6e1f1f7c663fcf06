"""scripts/with-postgres.sh: a throwaway PostgreSQL cluster around one command."""

import re
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT_DIR / "scripts" / "with-postgres.sh"

# Prints the URL, checks that the server runs a query, then fails on purpose so that
# the test also sees the cleanup after a failing command.
CLIENT = """
import os, sys
import psycopg
url = os.environ["DATABASE_URL"]
print("URL", url)
with psycopg.connect(url) as conn:
    print("ANSWER", conn.execute("SELECT 6 * 7").fetchone()[0])
sys.exit(3)
"""


def test_cluster_serves_command_then_is_removed():
    result = subprocess.run(
        [str(SCRIPT), sys.executable, "-c", CLIENT],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )

    assert result.returncode == 3, result.stderr
    assert re.search(
        r"^URL postgres://postgres@127\.0\.0\.1:\d+/postgres$",
        result.stdout,
        re.MULTILINE,
    )
    assert "ANSWER 42" in result.stdout
    folder = re.search(r"creating a cluster in (\S+)/data", result.stdout).group(1)
    assert folder.startswith("/tmp/ims-pg.")
    assert not Path(folder).exists()
    assert "stopping the cluster" in result.stdout
