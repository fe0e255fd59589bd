"""The container: services by type and name, singleton and per-request, with owners."""

import pytest

from mindframe.kernel.container import Container, ServiceError, dependency_key


class Clock:
    pass


def test_singleton_factory_runs_once_and_request_factory_every_time():
    container = Container()
    made = []
    container.provide(Clock, lambda: made.append(1) or Clock(), owner="a")
    container.provide(Clock, Clock, owner="b", name="fresh", lifetime="request")
    assert container.resolve(Clock) is container.resolve(Clock)
    assert len(made) == 1
    assert container.resolve(Clock, "fresh") is not container.resolve(Clock, "fresh")


def test_second_provider_of_the_same_service_is_refused_naming_the_holder():
    container = Container()
    container.provide(Clock, Clock(), owner="a")
    with pytest.raises(ServiceError, match="already provided by plugin 'a'"):
        container.provide(Clock, Clock(), owner="b")


def test_missing_service_lists_what_is_provided():
    container = Container()
    container.provide(Clock, Clock(), owner="a", name="wall")
    with pytest.raises(ServiceError, match="provided: Clock named 'wall'"):
        container.resolve(Clock)


def test_request_lifetime_needs_a_factory():
    with pytest.raises(ServiceError, match="pass a factory"):
        Container().provide(Clock, Clock(), owner="a", lifetime="request")


def test_registrations_are_recorded_by_owner_and_removable():
    container = Container()
    registration = container.provide(Clock, Clock(), owner="a")
    assert [r.owner for r in container.registrations()] == ["a"]
    container.remove(registration)
    assert container.registrations(owner="a") == []


def test_dependency_key_is_the_name_or_snake_case_type():
    class GreetingService:
        pass

    assert dependency_key(GreetingService) == "greeting_service"
    assert dependency_key(GreetingService, "greeter") == "greeter"
