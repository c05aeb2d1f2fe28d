"""The pure parts of grounded drafting: footnote checks, figure checks, sentence choice,
conflicts across a session, and the offline drafter's answers without material."""

from __future__ import annotations

from beacon_report_writer.drafter import OFFLINE_LABEL, OfflineDrafter, instruction_addition
from beacon_report_writer.grounding import (
    Passage,
    assign_sentences,
    figure_conflicts,
    is_statement,
    pick_sentences,
    sentence_terms,
    sentences,
    settle_footnotes,
    terms,
)

P = [
    Passage(1, 10, "RFP", 2, "The platform must support 500 concurrent users. It runs in two regions."),
    Passage(2, 10, "RFP", 3, "Audit logs must be retained for 7 years. Data is encrypted with AES-256."),
    Passage(3, 11, "Notes", 1, "Budget is EUR 1.2 million for licences and EUR 0.3 million for support."),
]


def test_footnotes_are_checked_renumbered_and_defined():
    draft = ("## X\n\nLogs are kept for 7 years.[^2]\nUsers: 500 concurrent users.[^1]\n"
             "Made up claim.[^7]\n\n[^1]: stale definition\n")
    settled = settle_footnotes(draft, P)
    assert "[^7]" not in settled.markdown and "stale definition" not in settled.markdown
    assert settled.flags == ["removed footnote(s) citing no passage sent: [^7]"]
    assert "Logs are kept for 7 years.[^1]" in settled.markdown
    assert "500 concurrent users.[^2]" in settled.markdown
    assert [(c["index"], c["page_number"]) for c in settled.citations] == [(1, 3), (2, 2)]
    assert settled.citations[0]["source_text"] == P[1].text
    assert '[^1]: RFP, page 3 (document 10): "Audit logs must be retained for 7 years."' in settled.markdown


def test_a_figure_found_in_no_passage_is_flagged_and_a_derived_one_is_not():
    draft = ("Support 600 concurrent users.[^1]\n"
             "The total budget is EUR 1.5 million.[^3]\n"
             "Logs are kept for 7 years.[^2]\n")
    settled = settle_footnotes(draft, P)
    assert len(settled.flags) == 1 and "600" in settled.flags[0]
    assert "Support 600 concurrent users.[^1] _(unverified figure" in settled.markdown
    assert "1.5 million.[^2]" in settled.markdown and "1.5 million.[^2] _(" not in settled.markdown


def test_sentences_are_chosen_by_topic_without_repeats_in_reading_order():
    passages = [Passage(1, 5, "A", 4, "Users must sign in with single sign-on. The canteen opens at 8."),
                Passage(2, 5, "A", 2, "Single sign-on with MFA is mandatory for all users."),
                Passage(3, 5, "A", 6, "Users must sign in with single sign-on.")]
    picks = pick_sentences(terms("identity access sign-on mfa"), passages, [])
    assert [p.passage.page_number for p in picks] == [2, 4]  # reading order, the repeat dropped
    assert all("canteen" not in p.sentence for p in picks)


def test_sentences_lose_list_enumerators_and_glued_headings():
    text = ("SCOPE OF WORK The bidder shall host the gateway in India. iv.\n"
            "Service credits apply, e.g. 5% per hour of downtime. v. PGSP shall retain logs for 7.5 years.\n"
            "No separate payment shall be made. b) The prices quoted shall include all taxes.\n"
            "2.1 The bidder shall train 20 staff; (a) The bidder shall provide manuals.")
    assert sentences(text) == [
        "The bidder shall host the gateway in India.",
        "Service credits apply, e.g. 5% per hour of downtime.",
        "PGSP shall retain logs for 7.5 years.",
        "No separate payment shall be made.",
        "The prices quoted shall include all taxes.",
        "The bidder shall train 20 staff;",
        "The bidder shall provide manuals.",
    ]


def test_symbol_font_bullets_are_list_items_not_part_of_a_sentence():
    # Wingdings' bullet (U+F0B7) as PDF text extraction keeps it, leading and mid-paragraph.
    text = ("The system shall:\n\uf0b7 Identify products with a high export potential. \uf0b7 Provide "
            "monthly reports to every department head.\n\u27a2 Archive closed cases after two years.")
    assert sentences(text) == [
        "The system shall:",
        "Identify products with a high export potential.",
        "Provide monthly reports to every department head.",
        "Archive closed cases after two years.",
    ]
    assert sentences("Range -5 to 5 is accepted by the gauge. -5 degrees is the lowest reading.")[1].startswith("-5")


def test_a_hyphenated_word_counts_for_its_parts():
    sentence = "PGSP shall provide access to transaction information via a password-protected site."
    assert "password" in sentence_terms(sentence) and "password" not in terms(sentence)
    assert "sign" not in terms("single sign-on")  # a topic's compound stays whole
    picks = pick_sentences(terms("identity password"), [Passage(1, 5, "RFP", 19, sentence)], [])
    assert [p.sentence for p in picks] == [sentence]


def test_a_sentence_is_filed_under_the_topic_it_matches_not_the_one_that_found_it():
    found_by_audit = Passage(1, 5, "RFP", 18, "Card data must be encrypted with AES-256 at rest and in transit. "
                             "Audit trails of every refund are kept for the whole contract.")
    nothing = Passage(2, 5, "RFP", 2, "The canteen opens at eight every working day of the week.")
    data = terms("Data protection encryption encrypted personal data privacy")
    audit = terms("Audit and monitoring audit log logging monitoring trail")
    names = ["Data protection", "Audit and monitoring"]
    picks = assign_sentences([(data, [nothing]), (audit, [found_by_audit])], [], names=names)
    assert [[p.sentence[:10] for p in topic] for topic in picks] == [["Card data "], ["Audit trai"]]
    assert picks[0][0].passage.page_number == 18  # still cited where it stands


def test_the_topics_own_word_outweighs_another_topics_hint_word():
    page = Passage(1, 5, "RFP", 3, "Audit logs of every stock movement must be retained for years.")
    regulations = terms("Regulations and standards compliance iso certification audit")
    audit = terms("Audit and monitoring trail incident")
    # Regulations' search ranks the page first; "audit" is only a hint word there.
    topics = [(regulations, [page]), (audit, [Passage(2, 5, "RFP", 1, "Nothing here."), page])]
    filed = assign_sentences(topics, [], names=["Regulations and standards", "Audit and monitoring"])
    assert [len(p) for p in filed] == [0, 1]


def test_only_whole_sentences_are_quoted():
    assert is_statement("The bidder shall provide manuals for every module.")
    assert not is_statement("the bidder shall provide manuals for every module.")  # a piece of one
    assert not is_statement("The bidder shall provide manuals for every module and")  # cut at a page
    assert not is_statement("The bidder shall be disqualified in the following cases:")  # a lead-in
    assert not is_statement("The bidder (the vendor shall provide manuals for every module.")


def test_a_sentence_cut_between_two_chunks_is_joined_and_cites_both_pages():
    end_of_page = Passage(1, 5, "RFP", 4, "Tenders close on 1 March. The gateway must encrypt card data with",
                          chunk=7)
    next_page = Passage(2, 5, "RFP", 5, "TLS 1.2 or higher at every hop. Settlement runs daily.", chunk=8)
    other_document = Passage(3, 6, "Notes", 1, "TLS 1.2 or higher at every hop.", chunk=8)
    words = terms("encryption encrypt card data tls")
    picks = pick_sentences(words, [end_of_page, next_page], [])
    joined = [p for p in picks if p.also]
    assert [(p.sentence, p.passage.page_number, p.also.page_number) for p in joined] == [
        ("The gateway must encrypt card data with TLS 1.2 or higher at every hop.", 4, 5)]
    # Only the next chunk of the same document continues it; a passage opening with a
    # heading does not either.
    assert not [p for p in pick_sentences(words, [end_of_page, other_document], []) if p.also]
    heading = Passage(2, 5, "RFP", 5, "Security Requirements\nTLS 1.2 or higher at every hop.", chunk=8)
    assert not [p for p in pick_sentences(words, [end_of_page, heading], []) if p.also]
    text = OfflineDrafter().draft({
        "mode": "generate", "report_type": "Technical_scope", "section_title": "Security & Compliance",
        "customer_id": "acme", "opportunity_id": "o-1", "material": {"documents": 1},
        "passages": [end_of_page.as_task(), next_page.as_task()],
        "topics": [{"topic": "Data protection", "terms": sorted(words), "passages": [1]}]})
    settled = settle_footnotes(text, [end_of_page, next_page])
    assert "- The gateway must encrypt card data with TLS 1.2 or higher at every hop.[^1][^2]" in settled.markdown
    assert "[^1]: RFP, page 4" in settled.markdown and "[^2]: RFP, page 5" in settled.markdown
    assert not settled.flags  # "1.2" is found in the cited pages together


def test_one_topic_word_lost_in_a_long_sentence_does_not_file_it_under_the_topic():
    long = ("Service unavailability resulting from loss of network availability can be excluded from "
            "availability calculations if the loss is caused by factors beyond the provider's control.")
    passages = [Passage(1, 5, "A", 4, long + " Role based access control with a password policy is required.")]
    picks = pick_sentences(terms("identity access control password role"), passages, [])
    assert [p.sentence for p in picks] == ["Role based access control with a password policy is required."]


def test_a_topic_left_empty_takes_back_a_sentence_that_names_it():
    page = Passage(1, 5, "RFP", 3, "The supplier must hold a valid ISO 27001 certification. "
                   "Audit logs of every stock movement must be retained for 7 years.")
    regulations = terms("Regulations and standards compliance iso certification audit")
    audit = terms("Audit and monitoring trail incident")
    tooling = terms("Tooling and operations monitoring support")
    # Without names, "Audit logs ..." fits regulations and audit alike and both searches
    # found it: it is placed nowhere; the certification sentence is regulations' alone.
    topics = [(regulations, [page]), (audit, [Passage(2, 5, "RFP", 1, "Nothing here."), page]),
              (tooling, [page])]
    plain = assign_sentences(topics, [])
    assert [[p.sentence[:10] for p in picks] for picks in plain] == [["The suppli"], [], []]
    filled = assign_sentences(topics, [], names=["Regulations and standards", "Audit and monitoring",
                                                 "Tooling and operations"])
    assert [[p.sentence[:10] for p in picks] for picks in filled] == [["The suppli"], ["Audit logs"], []]


def test_a_sentence_fitting_two_topics_alike_goes_where_only_one_search_found_it():
    both = "The platform must audit every payment that the merchants make."
    page = Passage(1, 5, "RFP", 4, both)
    elsewhere = Passage(2, 5, "RFP", 9, "Nothing here.")
    payments = terms("Payment schedule payment refund")
    audit = terms("Audit and monitoring log monitor")
    names = ["Payment schedule", "Audit and monitoring"]
    # One name word of each topic: the words cannot place it.
    only_audit = assign_sentences([(payments, [elsewhere]), (audit, [page])], [], names=names)
    assert [len(p) for p in only_audit] == [0, 1]
    # Found by both searches: placed nowhere (without names: no empty topic takes it back).
    found_by_both = assign_sentences([(payments, [page]), (audit, [page])], [])
    assert [len(p) for p in found_by_both] == [0, 0]


def test_a_sentence_clearly_nearer_one_topic_is_filed_there_though_both_found_it():
    page = Passage(1, 5, "RFP", 4, "Every refund is logged, monitored and kept in an audit trail.")
    payments = terms("Payment schedule payment refund")
    audit = terms("Audit and monitoring log monitored audit trail")
    filed = assign_sentences([(payments, [page]), (audit, [page])], [],
                             names=["Payment schedule", "Audit and monitoring"])
    assert [len(p) for p in filed] == [0, 1]


def test_conflicting_figures_across_sections_are_found():
    earlier = {"Requirements Overview": "- Availability must be 99.9% uptime.[^1]\n",
               "Timeline": "- Go-live in 9 months.[^1]\n"}
    assert figure_conflicts("Security & Compliance", "- We promise 99.5% uptime.[^1]\n", earlier) == [
        "figures disagree on 'uptime': 99.5% here, 99.9% in Requirements Overview"]
    assert figure_conflicts("Security & Compliance", "- 99.9% uptime.[^1]\n", earlier) == []


def test_without_material_the_offline_answer_is_an_outline_saying_so():
    text = OfflineDrafter().draft({"mode": "generate", "report_type": "Technical_scope",
                                   "section_title": "Security & Compliance", "customer_id": "acme",
                                   "opportunity_id": "o-1", "material": {"documents": 0}})
    assert text.startswith(f"## Security & Compliance\n\n{OFFLINE_LABEL}")
    assert "**Material missing.**" in text and "POST /documents" in text
    assert "### Identity and access" in text


def test_refine_shortens_to_a_target_and_keeps_surviving_footnotes():
    original = ("## Risks\n\n### Technical risks\n\n- First risk about integration complexity here.[^1]\n"
                "- Second risk about data migration volumes and quality.[^2]\n\n### Delivery risks\n\n"
                "- Third risk about the schedule slipping because of staff.[^3]\n\n"
                "[^1]: A, page 1 (document 1): \"x\"\n[^2]: A, page 2 (document 1): \"y\"\n"
                "[^3]: A, page 3 (document 1): \"z\"\n")
    text = OfflineDrafter().draft({"mode": "refine", "section_title": "Risks", "original_markdown": original,
                                   "instruction": "Shorten it to 20 words"})
    assert "First risk" in text and "Third risk" in text and "Second risk" not in text
    assert "[^1]: A, page 1" in text and "[^3]: A, page 3" in text and "[^2]:" not in text
    assert "> - Shortened from 26 to 17 words (target 20)" in text


def test_additions_are_read_from_the_instruction():
    assert instruction_addition("Make it shorter and add a risk about vendor lock-in") == "vendor lock-in"
    assert instruction_addition("Please include a point on data residency.") == "data residency"
    assert instruction_addition("Make it shorter") is None
