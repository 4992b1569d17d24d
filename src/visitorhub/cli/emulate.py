"""`visitorhub emulate ...`: run an emulator of a remote system on this machine (demos, manual tests)."""

from __future__ import annotations

import typer

from visitorhub.cli.common import err

emulate_app = typer.Typer(help="Emulators of the remote systems connectors talk to.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(emulate_app, name="emulate")


@emulate_app.command("entervo")
def entervo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8081, help="Port"),
    project: str = typer.Option("yourproject", help="Project (tenant and Keycloak realm) name"),
    client_id: str = typer.Option("B2C_yourproject", help="The one OAuth client of the project"),
    client_secret: str = typer.Option("emulator-secret", help="Its secret"),
    customer: list[str] = typer.Option(
        ["C2024EmuLat0r"], help="A pre-created customer business id (repeat for more)"
    ),
    token_lifetime: float = typer.Option(1800.0, help="Seconds a token lives (expires_in)"),
) -> None:
    """Serve the entervo infinite Consumer API emulator, with its fault switches under /_emulator."""
    import uvicorn

    from visitorhub.integration.connectors.entervo.emulator import create_emulator

    app = create_emulator(project, client_id, client_secret, customer, token_lifetime=token_lifetime)
    root = f"http://{host}:{port}"
    err.print(
        f"entervo emulator for project '{project}', client '{client_id}', customers {', '.join(customer)}:\n"
        f"  token  POST {root}/auth/realms/{project}/protocol/openid-connect/token\n"
        f"  API    {root}/customers-contracts/v2/{project}/...\n"
        f"  faults {root}/_emulator/docs",
        markup=False,
        highlight=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
