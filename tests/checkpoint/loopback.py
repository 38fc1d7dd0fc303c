"""No test reaches beyond the loopback interface: :func:`loopback_only` (an autouse fixture of
``tests/checkpoint`` and ``tests/weights``) makes resolving any other host name fail, as a
machine without network does, and fails the test that tried, naming the host. A test that
plays a source failing on purpose sets ``MMFISH_OFFLINE=1`` (the mirror alone) or serves every
source it names from loopback servers."""
import socket

import pytest

LOOPBACK = ('127.0.0.1', 'localhost', '::1', None, '')


def loopback_only(monkeypatch):
    """Refuse (and record) every host name lookup that is not the loopback interface's."""
    real, reached = socket.getaddrinfo, []

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            reached.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f'{name}: beyond loopback in a test')
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    yield
    if reached:
        pytest.fail(f'the test tried to reach beyond loopback: {", ".join(reached)}')
