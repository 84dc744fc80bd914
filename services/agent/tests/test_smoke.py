from pentagon.agent.settings import Settings


def test_settings_default_addr() -> None:
    assert Settings().agent_http_addr
