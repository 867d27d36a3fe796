from ztd.cli.main import run

if __name__ == "__main__":  # not when a spawned helper process imports this module
    run()
