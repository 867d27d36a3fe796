from ztd.cli.main import run

run()
