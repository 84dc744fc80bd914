from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from pentagon.agent.knowledge import KnowledgeBase
from pentagon.common.proto import agent_pb2
from pentagon.devtools.openai_stub import OpenAIStub

from .conftest import RunningAgent, make_settings, start_agent


@pytest.fixture
async def llm_agent(kb: KnowledgeBase, openai_stub: OpenAIStub) -> AsyncIterator[RunningAgent]:
    settings = make_settings(openai_api_key="sk-test", openai_base_url=openai_stub.base_url,
                             openai_model="gpt-4o-mini", openai_timeout_s=1.0, agent_history_turns=2)
    running = await start_agent(kb, settings)
    yield running
    await running.channel.close()
    await running.server.stop()


def request(text: str, history: list[tuple[str, str]] = ()) -> agent_pb2.ReplyRequest:  # type: ignore[assignment]
    return agent_pb2.ReplyRequest(conversation_id=1, platform="messenger", user_id="u", text=text,
                                  history=[agent_pb2.Turn(role=r, text=t) for r, t in history])


async def test_model_writes_the_answer_from_retrieved_records(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    openai_stub.reply = "A latte is 4,000 MMK and contains milk."
    reply = await llm_agent.stub.Reply(request("How much is a latte?"), timeout=5)
    assert reply.text == "A latte is 4,000 MMK and contains milk."
    assert reply.model == "gpt-4o-mini" and reply.usage.completion_tokens == 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 8 and reply.usage.prompt_tokens > 0
    assert reply.sources[0].id == "menu:3" and reply.intent == "menu"
    body = openai_stub.requests[-1]
    assert body["model"] == "gpt-4o-mini"
    system = body["messages"][0]
    assert system["role"] == "system" and "[menu:3]" in system["content"] and "4,000 MMK" in system["content"]
    assert "English" in system["content"]
    assert body["messages"][-1] == {"role": "user", "content": "How much is a latte?"}


async def test_the_model_is_shown_every_dish_a_question_names(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    openai_stub.reply = "A cappuccino is 4,000 MMK and a croissant 2,500 MMK."
    reply = await llm_agent.stub.Reply(request("How much is a cappuccino and a croissant?"), timeout=5)
    assert reply.text == openai_stub.reply and [s.id for s in reply.sources] == ["menu:4", "menu:24"]
    system = openai_stub.requests[-1]["messages"][0]["content"]
    assert "[menu:4] Cappuccino: 4,000 MMK" in system and "[menu:24] Butter Croissant: 2,500 MMK" in system


async def test_burmese_prompt_asks_for_burmese(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    await llm_agent.stub.Reply(request("လာတေး ဘယ်လောက်လဲ"), timeout=5)
    system = openai_stub.requests[-1]["messages"][0]["content"]
    assert "Burmese" in system and "၄,၀၀၀ ကျပ်" in system


async def test_only_the_latest_history_turns_are_sent(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    history = [("user", "OLDEST question"), ("bot", "old answer"), ("user", "Do you have wifi?"),
               ("bot", "Yes, free wifi.")]
    await llm_agent.stub.Reply(request("What is the password?", history), timeout=5)
    messages = openai_stub.requests[-1]["messages"]
    contents = [m["content"] for m in messages]
    assert "OLDEST question" not in " ".join(contents) and "old answer" not in contents
    assert [m["role"] for m in messages[1:]] == ["user", "assistant", "user"]
    assert contents[1:3] == ["Do you have wifi?", "Yes, free wifi."]


@pytest.mark.parametrize("mode", ["error", "garbage", "empty"])
async def test_provider_failure_falls_back_to_offline(llm_agent: RunningAgent, openai_stub: OpenAIStub,
                                                      mode: str) -> None:
    openai_stub.mode = mode
    reply = await llm_agent.stub.Reply(request("Do you have wifi?"), timeout=5)
    assert openai_stub.requests, "the model must have been tried"
    assert reply.model == "offline" and "Pentagon-Guest" in reply.text and reply.sources[0].id == "faq:1"


async def test_timeout_falls_back_to_offline(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    # The stub would answer after 30 s; without OPENAI_TIMEOUT_S (1 s) the 10 s deadline would expire.
    openai_stub.mode, openai_stub.delay_s = "slow", 30.0
    reply = await llm_agent.stub.Reply(request("Do you have wifi?"), timeout=10)
    assert reply.model == "offline" and "Pentagon-Guest" in reply.text


async def test_caller_deadline_is_honoured(llm_agent: RunningAgent, openai_stub: OpenAIStub) -> None:
    openai_stub.mode, openai_stub.delay_s = "slow", 30.0
    # The caller's 0.5 s deadline is shorter than OPENAI_TIMEOUT_S: the offline answer still arrives in time.
    reply = await llm_agent.stub.Reply(request("Do you have wifi?"), timeout=0.5)
    assert reply.model == "offline" and reply.sources[0].id == "faq:1"


async def test_wrong_key_falls_back(kb: KnowledgeBase, openai_stub: OpenAIStub) -> None:
    settings = make_settings(openai_api_key="sk-wrong", openai_base_url=openai_stub.base_url)
    running = await start_agent(kb, settings)
    try:
        reply = await running.stub.Reply(request("Do you have wifi?"), timeout=5)
        assert reply.model == "offline" and reply.text
    finally:
        await running.channel.close()
        await running.server.stop()


@pytest.mark.parametrize("text", ["Hello", "I want to talk to a human", "I'm allergic to milk"])
async def test_fixed_wording_never_goes_to_the_model(llm_agent: RunningAgent, openai_stub: OpenAIStub,
                                                     text: str) -> None:
    reply = await llm_agent.stub.Reply(request(text), timeout=5)
    assert openai_stub.requests == [] and reply.model == "offline"


@pytest.mark.parametrize(("text", "listed"), [("Menu", "Cold Brew"), ("what coffee do you have", "Mocha"),
                                             ("Do you have vegan cake?", "Samosa")])
async def test_menu_lists_are_not_rewritten_by_the_model(llm_agent: RunningAgent, openai_stub: OpenAIStub,
                                                         text: str, listed: str) -> None:
    openai_stub.reply = "We have coffee."  # shown only the best few records, a model shortens the list
    reply = await llm_agent.stub.Reply(request(text), timeout=5)
    assert openai_stub.requests == [] and reply.model == "offline" and listed in reply.text


async def test_invalid_input_still_refused_with_llm(llm_agent: RunningAgent) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await llm_agent.stub.Reply(request(""), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


UNSURE = "do you have something for people who skip dairy"  # retrieval alone is unsure: a person would answer


async def test_an_unsure_question_answered_by_the_model_citing_a_record(llm_agent: RunningAgent,
                                                                        openai_stub: OpenAIStub) -> None:
    openai_stub.reply = "[faq:14] Yes: oat or soy milk in any drink, 800 MMK extra."
    reply = await llm_agent.stub.Reply(request(UNSURE), timeout=5)
    system = openai_stub.requests[-1]["messages"][0]["content"]
    assert "[faq:14]" in system and "NO_ANSWER" in system and "square brackets" in system
    assert not reply.requires_human and reply.escalation_reason == ""
    assert reply.text == "Yes: oat or soy milk in any drink, 800 MMK extra."  # the citation is ours, not the user's
    assert [s.id for s in reply.sources] == ["faq:14"] and reply.model == "gpt-4o-mini"
    assert reply.confidence == pytest.approx(0.35)  # the lowest confidence that answers: told apart by staff
    assert reply.intent == "faq"  # the cited record's, no longer "off_topic"


@pytest.mark.parametrize("model_says", [
    "NO_ANSWER",
    "Paris is the capital of France.",                   # no record named: not grounded
    "[faq:99] Something from a record it was not shown.",  # a record it was not given
    "[faq:14]",                                          # a citation and nothing else
])
async def test_an_unsure_question_stays_with_a_person_unless_the_model_cites_a_shown_record(
        llm_agent: RunningAgent, openai_stub: OpenAIStub, model_says: str) -> None:
    openai_stub.reply = model_says
    reply = await llm_agent.stub.Reply(request(UNSURE), timeout=5)
    assert openai_stub.requests, "the model must have been asked"
    assert reply.requires_human and reply.escalation_reason == "low_confidence" and reply.model == "offline"


async def test_an_unsure_question_stays_with_a_person_when_the_model_fails(llm_agent: RunningAgent,
                                                                           openai_stub: OpenAIStub) -> None:
    openai_stub.mode = "error"
    reply = await llm_agent.stub.Reply(request(UNSURE), timeout=5)
    assert reply.requires_human and reply.escalation_reason == "low_confidence"



async def test_a_confident_answer_the_model_finds_no_record_for_goes_to_a_person(llm_agent: RunningAgent,
                                                                                   openai_stub: OpenAIStub) -> None:
    """Retrieval matched the kid-friendly answer (kids, and menu everywhere); the model, shown it, says no record
    answers whether there is a kids' menu."""
    openai_stub.reply = "NO_ANSWER"
    reply = await llm_agent.stub.Reply(request("do you have a kids menu?"), timeout=5)
    system = openai_stub.requests[-1]["messages"][0]["content"]
    assert "[faq:12]" in system and "NO_ANSWER" in system and "square brackets" not in system
    assert reply.requires_human and reply.escalation_reason == "low_confidence" and not reply.sources
    assert "NO_ANSWER" not in reply.text and "staff" in reply.text and reply.model == "gpt-4o-mini"
    openai_stub.reply = "Children are welcome; we have high chairs and a kids' corner."
    answered = await llm_agent.stub.Reply(request("do you have a kids menu?"), timeout=5)
    assert not answered.requires_human and answered.text == openai_stub.reply  # the model's word either way


async def test_coverage_of_a_list_of_questions_never_calls_the_model(llm_agent: RunningAgent,
                                                                     openai_stub: OpenAIStub) -> None:
    """admin-api asks which unanswered questions the knowledge covers now: one call, free, in order."""
    openai_stub.reply = "A latte is 4,000 MMK."
    before = len(openai_stub.requests)
    texts = ["How much is a latte?", "Do you sell durian cake?", "  ", "ဝိုင်ဖိုင် ရှိလား", "x" * 5000]
    covered = await llm_agent.stub.Coverage(agent_pb2.CoverageRequest(texts=texts), timeout=5)
    assert list(covered.answered) == [True, False, False, True, False]
    assert len(openai_stub.requests) == before
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await llm_agent.stub.Coverage(agent_pb2.CoverageRequest(texts=["latte?"] * 201), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
