from deployer.cli.main import run

run()
