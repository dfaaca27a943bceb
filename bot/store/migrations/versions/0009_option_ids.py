"""Quiz answers name the option chosen by its id; check-up sittings name their instrument version.

Options are now shown shuffled (per resident and attempt), so a position on the screen says
nothing; every option has a stable id in content/ instead. This revision:

- adds ``answers.option_id`` and fills it for every stored answer from its ``option_index``.
  Since 0007 a stored position is the option's position in content (the order authors write);
  ``OPTION_IDS`` below is that order, for every question, at the time option ids were given
  (content/topics as of this revision). A position it does not know (a question gone, or out of
  range) leaves the id NULL. ``option_index`` stays: the option's position in content when it
  was answered, as before;
- keys ``option_totals`` by ``(question_id, option_id)`` instead of the position, carrying
  every tally over (tallies are anonymous and outlive /forget, so they are moved, not rebuilt
  from the answers);
- adds ``assessment_sittings.instrument_version``: the check-up's version when the sitting
  began. Sittings stored before are of version 1, the instrument as it was until this revision.

Like 0007, the six questions replaced under their old ids before edb2d8d keep whatever their
stored positions point at today. The migration reads no content file (CONTENT_DIR may point
anywhere): only the table below.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# question id -> option ids in content order (position 0, 1, ...)
OPTION_IDS: dict[str, tuple[str, ...]] = {
    "pay-codes-q1": ("paying-code", "receiving-code", "screenshot-paying"),
    "pay-codes-q2": ("no-digits-can", "yes-its-only", "only-people-know"),
    "pay-codes-q3": ("scan-enter-password", "scan-but-dont", "dont-scan-hang"),
    "pay-codes-q4": ("5-000-yuan", "500-yuan", "there-no-limit"),
    "pay-codes-q5": (
        "if-payees-name",
        "whether-code-printed",
        "whether-battery-full",
        "whether-internet",
    ),
    "pay-codes-q6": ("make-transfers", "turn-password-free", "use-own-photo"),
    "pay-guard-q1": ("read-out-account", "hang-up-call", "only-last-three"),
    "pay-guard-q2": ("turn-everywhere", "only-older-people", "dont-turn-unless"),
    "pay-guard-q3": ("xiaogangs-account", "grandmas-own-bank", "village-committees"),
    "pay-guard-q4": ("wait-see-if", "freeze-cards-payment", "buy-new-phone", "just-change-payment"),
    "pay-guard-q5": ("birthday", "easy-digits-like", "6-digits-no", "same-screen-lock"),
    "pay-guard-q6": ("lower-daily-payment", "write-password-phone", "make-paying-code"),
    "pay-mistakes-q1": ("ask-them-tap", "call-110-right", "forget-pay-roommate"),
    "pay-mistakes-q2": ("wait-alipay-reverse", "keep-proof-call", "shame-him-publicly"),
    "pay-mistakes-q3": ("hes-right-keep", "keep-until-they", "return-isnt-mine"),
    "pay-mistakes-q4": ("send-new-account", "scan-his-qr", "send-back-way"),
    "pay-mistakes-q5": ("number-shown-alipay", "number-caller-gives", "service-number-found"),
    "pay-mistakes-q6": ("yes-ask-alipay", "no-its-fraud", "ask-officer-send"),
    "fraud-types-q1": ("normal-pay-get", "pay-half-first", "its-scam-dont"),
    "fraud-types-q2": ("fraud-police-have", "theres-warrant-must", "move-some-show"),
    "fraud-types-q3": ("platform-looking", "fake-customer", "bank-promoting-new"),
    "fraud-types-q4": ("no-hang-up", "yes-number-cant", "yes-but-transfer", "give-him-code"),
    "fraud-types-q5": ("stop-its-task", "pay-once-more", "pay-half-first"),
    "fraud-types-q6": ("go-back-home", "tap-end-sharing", "put-phone-silent"),
    "fraud-invest-q1": ("put-little-try", "many-screenshots", "its-scam-pay"),
    "fraud-invest-q2": ("platform-works", "its-bait-stop", "he-really-cares"),
    "fraud-invest-q3": ("borrow-pay-fee", "dont-pay-call", "bargain-fee-down"),
    "fraud-invest-q4": ("boss-hurry-send", "ask-wechat", "call-bosss-saved"),
    "fraud-invest-q5": ("hang-up-call", "send-little-its", "do-he-says"),
    "fraud-invest-q6": ("bank-protecting", "fake-credit-scam", "normal-credit-bureau"),
    "fraud-codes-q1": ("hes-old-friend", "no-code-own", "send-screenshot-its"),
    "fraud-codes-q2": ("web-page-someone", "read-service-agent", "app-opened-own"),
    "fraud-codes-q3": ("normal-claims", "fake-customer", "borrow-half-test"),
    "fraud-codes-q4": ("call-bank-freeze", "call-agent-back", "its-over-just"),
    "fraud-codes-q5": ("number-text", "number-printed-cards", "call-no-one"),
    "fraud-codes-q6": ("official-warning-tap", "reply-ask-if", "has-link-its"),
    "fraud-react-q1": ("call-96110", "call-110-police", "call-12315", "service-number"),
    "fraud-react-q2": ("answer-listen", "ignore-never-answer", "answer-then-hang"),
    "fraud-react-q3": ("delete-all-chats", "wait-few-days", "bring-screenshots"),
    "fraud-react-q4": ("helpful-recovery", "another-scam", "normal-police"),
    "fraud-react-q5": ("lend-money-emergency", "get-money-back", "warn-scam-calls"),
    "fraud-react-q6": ("check-his-photo", "call-his-old", "call-new-number", "send-half-now"),
    "fraudhelp-stop-q1": ("pay-one-get", "stop-paying-hang", "pay-half-see"),
    "fraudhelp-stop-q2": ("wait-her-daughter", "ask-bank-tomorrow", "call-110-right"),
    "fraudhelp-stop-q3": ("time-amount-payees", "bank-card-password", "nothing-police-will"),
    "fraudhelp-stop-q4": ("ask-fraudster", "bill-opening-payment", "its-gone-can"),
    "fraudhelp-stop-q5": ("fine-codes-expire", "call-cards-number", "call-fraudster-ask"),
    "fraudhelp-stop-q6": ("yes-out-sight", "screenshots", "keep-everything"),
    "fraudhelp-after-q1": ("all-whoever-reported", "bank-keeps-none", "shared-among-all"),
    "fraudhelp-after-q2": ("pay-500-get", "hang-up-call", "give-him-code"),
    "fraudhelp-after-q3": ("second-scam", "refund-if-they", "proper-legal-service"),
    "fraudhelp-after-q4": ("pay-someone-unblock", "appeal-bank-police", "ignore-use-another"),
    "fraudhelp-after-q5": ("keep-herself", "tell-her-family", "secretly-pay-someone"),
    "fraudhelp-after-q6": ("phone-credit-bureau", "pay-credit-check", "check-own-credit"),
    "loans-apps-q1": ("link-social-media", "bank-branch-banks", "no-collateral-flyer"),
    "loans-apps-q2": ("normal-procedure-pay", "transfer-half-test", "its-scam-send"),
    "loans-apps-q3": ("great-anyone-all", "its-red-flag", "small-loan-fine"),
    "loans-apps-q4": ("allow-all-loans", "allow-contacts-but", "refuse-delete-app"),
    "loans-apps-q5": ("phones-own-app", "link-text-message", "qr-code-flyer"),
    "loans-apps-q6": ("pay-once-more", "argue-them-refund", "stop-paying-call"),
    "loans-cost-q1": ("0-1-year", "3-65-year", "36-5-year", "12-year"),
    "loans-cost-q2": ("about-21-year", "about-12-year", "about-1-year"),
    "loans-cost-q3": ("interest-10-000", "only-8-000", "fee-isnt-interest"),
    "loans-cost-q4": (
        "daily-interest-rate",
        "how-fast-money",
        "what-repay-each",
        "yearly-rate-all",
    ),
    "loans-cost-q5": ("30-signed-he", "most-12-year", "no-interest-allowed"),
    "loans-cost-q6": ("0-05-tiny", "they-cost-same", "b-cheaper"),
    "loans-farm-q1": ("full-50-000", "only-8-000", "little-from-several"),
    "loans-farm-q2": ("both-1-either", "ask-total-he", "pick-faster-one"),
    "loans-farm-q3": ("sign-now-worry", "take-new-loan", "ask-if-he"),
    "loans-farm-q4": ("refuse-go-myself", "pay-him-save", "give-id-card"),
    "loans-farm-q5": ("he-spent-its", "debt-bad-record", "bank-will-go"),
    "loans-farm-q6": ("loan-ad-pops", "same-day-loan", "credit-co-op"),
    "credit-report-q1": ("village-town", "each-loan-app", "pbocs-credit-center", "police-station"),
    "credit-report-q2": ("guarantee-goes", "only-goes-his", "its-signature-no"),
    "credit-report-q3": ("stays-his-report", "its-deleted-day", "kept-5-more"),
    "credit-report-q4": ("ignore-vanishes-5", "pay-off-debt", "change-phone-number"),
    "credit-report-q5": ("avoid-bank-ignore", "take-online-loan", "talk-bank-early"),
    "credit-report-q6": ("pay-when-can", "repay-loans-cards", "guarantee-every"),
    "credit-check-q1": ("pbccrc-cx-com", "online-we-check", "www-pbccrc-org"),
    "credit-check-q2": ("only-first-one", "first-2", "none-free"),
    "credit-check-q3": ("hang-up-call", "tell-him-its", "give-id-number"),
    "credit-check-q4": ("pay-someone-repair", "dispute-credit", "ignore-didnt-borrow"),
    "credit-check-q5": ("add-personal", "file-dispute-delete", "pay-someone-delete"),
    "credit-check-q6": ("send-them-its", "send-only-id", "refuse-check"),
    "credit-repair-q1": ("proper-paid-service", "scam-true-records", "theres-refund-why"),
    "credit-repair-q2": ("do-he-says", "send-small-amount", "hang-up-check"),
    "credit-repair-q3": ("dispute-saying-wasnt", "pay-time-its", "hire-credit-repairer"),
    "credit-repair-q4": ("no-not-any", "no-pin-needed", "hes-friend-its"),
    "credit-repair-q5": ("nothing-happens-card", "credit-record-mark", "nothing-long-get"),
    "credit-repair-q6": ("say-nothing-didnt", "ask-workmate-cut", "block-tell-police"),
    "ecny-what-q1": ("alipay-wechat", "peoples-bank-china", "technology-company"),
    "ecny-what-q2": ("depends-market", "less-than-1", "1-000-yuan"),
    "ecny-what-q3": ("dont-tap-search", "tap-fast-before", "open-look-but"),
    "ecny-what-q4": ("e-cny-bank", "strangers-investment", "digital-asset", "postal-savings-bank"),
    "ecny-what-q5": ("yes-buy-early", "no-stays-1", "yes-but-buy"),
    "ecny-what-q6": ("web-address-sent", "pbcdci-vip-from", "official-site-www"),
    "ecny-wallet-q1": ("type-4-lowest", "top-type-highest", "not-real-wallet"),
    "ecny-wallet-q2": ("give-higher-limits", "id-number-only", "no-ill-upgrade"),
    "ecny-wallet-q3": ("pay-someone-online", "verify-his-id", "send-his-code"),
    "ecny-wallet-q4": ("hang-up-its", "send-small-amount", "do-must-obey", "do-but-keep"),
    "ecny-wallet-q5": ("ask-bank-about", "give-his-id", "without-smartphone"),
    "ecny-wallet-q6": ("money-grows-value", "no-worries-if", "if-cheated-loss"),
    "ecny-2026-q1": ("phone-number-only", "real-name-wallets", "no-wallet-earns"),
    "ecny-2026-q2": ("yes-up-500", "no-only-bankbook", "only-up-10"),
    "ecny-2026-q3": ("has-red-seal", "invest-little-test", "fake-its-not"),
    "ecny-2026-q4": ("pay-hell-earn", "dont-pay-its", "pay-half-see", "sign-up-friends"),
    "ecny-2026-q5": ("enter-them-its", "enter-nothing-close", "enter-card-number"),
    "ecny-2026-q6": ("call-110-once", "pay-unfreezing-fee", "too-embarrassed-tell"),
    "insurance-farm-q1": ("yes-theres-order", "no-farm-insurance", "only-big-grain"),
    "insurance-farm-q2": ("yes-small-farmers", "no-its-only", "only-if-she"),
    "insurance-farm-q3": ("wait-until-after", "clear-away-damaged", "report-once-take"),
    "insurance-farm-q4": ("no-call-insurers", "pay-him-bigger", "pay-half-now", "give-him-policy"),
    "insurance-farm-q5": ("farmer-pays-all", "central-provincial", "village-committee"),
    "insurance-farm-q6": ("yes-insurance-pays", "yes-if-he", "no-cover-capped"),
    "insurance-city-q1": ("yes-replaces-basic", "young-people-can", "no-only-tops"),
    "insurance-city-q2": ("yes-her-shenzhen", "no-she-needs", "only-if-she"),
    "insurance-city-q3": ("yes-always-88", "no-price-cover", "yes-only-gets"),
    "insurance-city-q4": (
        "people-illnesses",
        "he-can-buy",
        "all-old-illnesses",
        "only-young-people",
    ),
    "insurance-city-q5": ("depends-what-his", "yes-insurance-pays", "no-insurance-always"),
    "insurance-city-q6": ("add-him-pay", "buy-through-insurers", "pay-half-now"),
    "insurance-safe-q1": ("true-only-big", "its-insured-too", "only-if-he"),
    "insurance-safe-q2": ("buy-high-interest", "put-all-one", "split-between-two"),
    "insurance-safe-q3": (
        "great-rate-sign",
        "hes-bank-hes",
        "transfer-little-try",
        "ask-counter-first",
    ),
    "insurance-safe-q4": ("refuse-they-cant", "he-must-buy", "buy-then-quietly"),
    "insurance-safe-q5": ("do-he-says", "share-screen-but", "hang-up-call", "ask-him-pay"),
    "insurance-safe-q6": ("give-him-her", "ask-her-own", "cancel-now-new"),
    "pandao-basics-q1": ("give-farmers-money", "repays-bank-if", "cancel-interest"),
    "pandao-basics-q2": ("debt-wiped-out", "state-steps-pays", "he-owes-guarantor"),
    "pandao-basics-q3": ("borrow-even-without", "id-never-have", "no-fees-all"),
    "pandao-basics-q4": ("tip-village", "guarantee-fee", "nothing-all"),
    "pandao-basics-q5": ("pay-loan-agent", "borrow-from-loan", "ask-bank-about"),
    "pandao-basics-q6": ("hand-whoever-comes", "send-officers-wechat", "per-contract"),
    "pandao-ask-q1": ("trust-what-village", "call-loan-agent", "ask-postal-savings"),
    "pandao-ask-q2": ("refuse-its-scam", "pay-its-approved", "bargain-down-1"),
    "pandao-ask-q3": ("how-many-jiao", "yearly-total-cost", "only-first-months"),
    "pandao-ask-q4": (
        "hes-family-lend",
        "lend-but-ask",
        "refuse-debt-would",
        "lend-only-photocopy",
    ),
    "pandao-ask-q5": ("sign-quickly-dont", "let-him-sign", "sign-now-read", "dont-sign-yet"),
    "pandao-ask-q6": ("its-interest-surely", "confirm-exact-terms", "loan-never-has"),
    "pandao-repay-q1": ("if-due-dates", "whether-he-can", "nothing-deal-later"),
    "pandao-repay-q2": ("buy-motorbike-repay", "lend-relative", "put-repayment-money"),
    "pandao-repay-q3": ("hide-ignore-all", "talk-bank-guarantor", "wait-until-due"),
    "pandao-repay-q4": ("zhao-no-longer", "guarantor-collects", "record-vanishes"),
    "pandao-repay-q5": ("about-12", "about-1", "about-21"),
    "pandao-repay-q6": ("36-year", "12-year", "no-limit-whatever"),
    "rights-eight-q1": ("must-buy-get", "can-say-no", "buying-will-surely"),
    "rights-eight-q2": ("everyone-buys-sign", "too-shy-ask", "ask-him-explain"),
    "rights-eight-q3": ("right-respect", "right-education", "right-safe-property"),
    "rights-eight-q4": (
        "bank-decides-must",
        "only-lawyer-can",
        "its-small-sum",
        "can-demand-answer",
    ),
    "rights-eight-q5": ("right-fair-dealing", "right-information", "right-free-choice"),
    "rights-eight-q6": ("yes-not-if", "yes-only-city", "no-everyone-has"),
    "rights-complain-q1": ("complain-insurer", "skip-insurer-go", "post-angry-messages"),
    "rights-complain-q2": ("call-12315", "call-96110", "call-12363"),
    "rights-complain-q3": ("call-110", "call-12378", "call-12381"),
    "rights-complain-q4": (
        "its-their-rule",
        "cash-cant-refused",
        "no-smartphone-no",
        "only-banks-must",
    ),
    "rights-complain-q5": ("call-110-once", "call-12363-complain", "call-12378-wait"),
    "rights-complain-q6": ("very-long-letter", "friend-right", "contract-receipts"),
    "rights-info-q1": ("card-empty-why", "refuse-lending-cards", "lend-but-make"),
    "rights-info-q2": ("no-face-scan", "face-scan-only", "everyones-going-ill"),
    "rights-info-q3": ("favourite-food", "wechat-nickname", "fingerprints"),
    "rights-info-q4": (
        "refuse-switch-app",
        "must-agree-break",
        "others-agree-agree",
        "add-id-number",
    ),
    "rights-info-q5": ("no-once-stored", "yes-have-right", "only-if-pay"),
    "rights-info-q6": ("hes-family-cant", "lend-signed-iou", "no-sim-cards"),
    "elderly-setup-q1": ("buy-new-big", "give-stranger", "settings-care-mode"),
    "elderly-setup-q2": ("birthday", "pin-123456", "same-screen-lock", "6-digits-no"),
    "elderly-setup-q3": ("family-card-monthly", "tell-grandma-his", "link-her-card"),
    "elderly-setup-q4": ("leave-its-few", "turn-off-unused", "turn-more"),
    "elderly-setup-q5": (
        "turn-call-sms",
        "nothing-installing",
        "tell-customer",
        "delete-save-space",
    ),
    "elderly-setup-q6": ("lower", "high-possible-just", "limits-have-nothing"),
    "elderly-health-q1": ("free-eggs-why", "free-eggs-usually", "take-eggs-ignore"),
    "elderly-health-q2": (
        "yes-health-products",
        "no-cant-replace",
        "stop-half-pills",
        "expensive-ones-can",
    ),
    "elderly-health-q3": ("check-real-hospital", "buy-once-life", "buy-half-see"),
    "elderly-health-q4": ("hes-kind-ill", "card-number-only", "no-talk-children"),
    "elderly-health-q5": ("rare-good-deal", "rebate-lure-dont", "company-doing"),
    "elderly-health-q6": ("call-12315", "call-12363", "call-12381"),
    "elderly-pension-q1": ("others-got-paid", "put-little-test", "guaranteed-no-loss"),
    "elderly-pension-q2": ("tell-children", "obey-him-ill", "keep-quiet-surprise"),
    "elderly-pension-q3": ("real-police-must", "scam-hang-up", "send-some-show"),
    "elderly-pension-q4": (
        "connections-help-ill",
        "pay-half-deposit",
        "ask-him-write",
        "no-ask-social",
    ),
    "elderly-pension-q5": ("keep-living-there", "sign-quietly-dont", "dont-sign-yet"),
    "elderly-pension-q6": ("answer", "ignore-unknown", "send-money-then"),
    "newcity-credit-q1": ("credit-per-city", "its-one-national", "people-from"),
    "newcity-credit-q2": ("max-out-pay", "never-use-all", "use-lightly-repay"),
    "newcity-credit-q3": ("dont-tap-its", "download-see-rate", "have-no-record"),
    "newcity-credit-q4": (
        "phone-center-read",
        "pay-agent-check",
        "check-www-pbccrc",
        "download-app-called",
    ),
    "newcity-credit-q5": ("its-just-signature", "its-record-may", "no-risk-if"),
    "newcity-credit-q6": ("pay-someone-repair", "ignore-isnt-mine", "file-dispute-center"),
    "newcity-rent-q1": ("about-0-05", "about-1-5", "about-18"),
    "newcity-rent-q2": ("normal-he-owes", "not-allowed-loan", "he-signed-nothing"),
    "newcity-rent-q3": ("see-room-papers", "pay-now-no", "pay-half-show"),
    "newcity-rent-q4": ("pay-only-contracts", "owner-said-do", "pay-cash-no"),
    "newcity-rent-q5": ("how-big-discount", "loan", "nothing-just-scan"),
    "newcity-rent-q6": ("fast-loans-poster", "link-stranger-sent", "bank-12333-support"),
    "newcity-wages-q1": ("photo-factory-gate", "contract-pay-slips", "nothing-boss-will"),
    "newcity-wages-q2": ("12333-labour-hotline", "96110-anti-fraud", "accounts-number-from"),
    "newcity-wages-q3": ("tap-check-link", "ask-workmate-trust", "official-gov"),
    "newcity-wages-q4": ("lots-jobs-do", "pay-half-rest", "likely-scam-dont"),
    "newcity-wages-q5": ("easy-200-day", "refuse-lending-cards", "lend-just-few"),
    "newcity-wages-q6": ("tap-fill", "card-number-only", "dont-tap-check"),
    "basics-interest-q1": ("take-interest-out", "deposit-again", "deposit-only"),
    "basics-interest-q2": ("now-even-if", "just-before-she", "wait-until-interest"),
    "basics-interest-q3": ("keep-emergency-sum", "savings-earn", "take-new-online"),
    "basics-interest-q4": ("yes-interest-only", "yes-old-debts", "no-about-3"),
    "basics-interest-q5": ("about-10-050", "about-10-500", "about-12-000"),
    "basics-interest-q6": ("about-6-years", "about-12-years", "about-72-years"),
    "basics-inflation-q1": ("more-than-today", "less-than-today", "same-today"),
    "basics-inflation-q2": ("try-small-amount", "invest-once-there", "dont-scam-sign"),
    "basics-inflation-q3": ("take-all-out", "keep-bank", "put-high-interest"),
    "basics-inflation-q4": ("interest-2-prices", "interest-2-prices-2", "interest-3-prices"),
    "basics-inflation-q5": ("3-month-scam", "theyre-right-send", "send-half-careful"),
    "basics-inflation-q6": ("old-banknotes-stop", "earns-nothing-can", "keeping-cash-home"),
    "basics-diversify-q1": ("fund-holding-shares", "all-money-one", "both-carry-exactly"),
    "basics-diversify-q2": ("no-never-bet", "put-all-he", "put-half-see"),
    "basics-diversify-q3": ("yes-funds-have", "yes-anything-bank", "no-its-value"),
    "basics-diversify-q4": ("bank-ready-take", "share-earn-bit", "lend-relative-now"),
    "basics-diversify-q5": ("yes-spreading-makes", "no-just-lose", "yes-if-its"),
    "basics-diversify-q6": ("link-from-chat", "from-salesman-door", "licensed-bank"),
    "basics-saving-q1": ("not-covered-since", "deposit-insurance", "most-half-paid"),
    "basics-saving-q2": ("all-one-big", "two-accounts-same", "two-banks-400"),
    "basics-saving-q3": ("ask-counter-not", "its-inside-bank", "ask-him-come"),
    "basics-saving-q4": ("all-5-year", "10-000-current", "all-cash-home"),
    "basics-saving-q5": ("pay-nothing-hang", "pay-quickly-protect", "pay-half-now"),
    "basics-saving-q6": ("yes-covers-all", "no-isnt-deposit", "yes-if-under"),
    "village-fundraise-q1": ("save-some-its", "dont-co-op", "save-its-farm"),
    "village-fundraise-q2": ("yes-government", "yes-if-there", "no-losses-our"),
    "village-fundraise-q3": ("decline-its", "sign-up-get", "pay-half-first"),
    "village-fundraise-q4": ("organiser-himself", "township-12345", "no-one-handles"),
    "village-fundraise-q5": ("trust-him-family", "dont-safe-high", "put-little-polite"),
    "village-fundraise-q6": ("call-110-receipts", "pay-unfreezing-fee", "wait-they-may"),
    "village-voice-q1": ("face-matches-send", "send-half-rest", "hang-up-ring"),
    "village-voice-q2": ("agree-code-word", "keep-no-family", "post-more-grandsons"),
    "village-voice-q3": ("get-cash-ready", "give-nothing-call", "do-he-says"),
    "village-voice-q4": ("save-new-number", "ring-old-number", "send-money-new"),
    "village-voice-q5": ("call-number-back", "call-96110-advice", "do-nothing-just"),
    "village-voice-q6": ("yes-ai-videos", "yes-picture-very", "no-still-call"),
    "village-romance-q1": ("invest-he-has", "dont-its-pig", "let-him-invest"),
    "village-romance-q2": ("invest-got-money", "try-50-000", "dont-easy"),
    "village-romance-q3": ("pay-nothing-more", "pay-get-money", "borrow-pay-if"),
    "village-romance-q4": ("follow-along-its", "leave-use-licensed", "see-who-group"),
    "village-romance-q5": ("dont-ive-never", "lend-soldiers", "lend-little-test"),
    "village-romance-q6": ("install-whatever-app", "give-him-bank", "chat-but-no"),
    "village-house-q1": ("states-house-pension", "house-pension-scam", "normal-bank-loan"),
    "village-house-q2": ("investment-firm", "agent-door", "licensed-insurance"),
    "village-house-q3": ("sign-notarised-paper", "dont-ask-family", "sign-still-hold"),
    "village-house-q4": ("its-safe-can", "nothing-early", "should-put-more"),
    "village-house-q5": ("no-genuine-policy", "yes-every-one", "yes-state-doesnt"),
    "village-house-q6": ("sign-now-before", "have-seller-read", "take-home-family"),
    "bscam-live-q1": ("dont-order-ask", "order-now-before", "buy-return-if"),
    "bscam-live-q2": ("try-one-box", "stop-pills-recipe", "ignore-keep-taking"),
    "bscam-live-q3": ("how-many-fans", "blue-hat-mark", "whether-all-comments"),
    "bscam-live-q4": ("watch-but-dont", "add-friends-group", "leave-group-dont"),
    "bscam-live-q5": ("return-within-7", "signed-no-return", "only-faulty-goods"),
    "bscam-live-q6": ("curse-him-comments", "accept-never-shop", "platform-first-then"),
    "bscam-live-q7": ("enter-card-number", "skip-give-nothing", "pay-9-90"),
    "bscam-meeting-q1": ("go-let-them", "go-but-bring", "stay-home-hand"),
    "bscam-meeting-q2": ("dont-buy-ask", "buy-too-its", "pay-deposit-lock"),
    "bscam-meeting-q3": ("buy-blue-hat", "dont-buy-its", "buy-replace-heart"),
    "bscam-meeting-q4": ("keep-receipt-call", "bought-there-accept", "demand-7-day"),
    "bscam-meeting-q5": ("her-money-not", "join-her-wait", "tell-her-stop"),
    "bscam-meeting-q6": ("call-12363", "call-12333", "call-12315"),
    "bscam-medins-q1": ("dont-tap-ask", "open-but-type", "call-number-text"),
    "bscam-medins-q2": ("scan-face-saves", "give-id-number", "refuse-tell-village"),
    "bscam-medins-q3": ("no-card-only", "lend-hes-family", "lend-theres-plenty"),
    "bscam-medins-q4": ("tap-link-text", "wait-until-payments", "call-12333-ask"),
    "bscam-medins-q5": ("dont-tap-ask", "tap-link-scan", "forward-friends"),
    "bscam-medins-q6": ("wait-help-police", "hang-up-check", "give-card-pin"),
    "bscam-medins-q7": ("ask-social-security", "let-stranger-door", "skip-let-pension"),
    "bscam-subsidy-q1": ("pay-50-subsidy", "pay-nothing", "let-them-deduct"),
    "bscam-subsidy-q2": ("hang-up-ask", "go-atm-follow", "give-him-card"),
    "bscam-subsidy-q3": ("has-seal-scan", "scan-look-pay", "dont-scan-ask"),
    "bscam-subsidy-q4": ("print-passbook-check", "call-number-text", "wait-someone-phone"),
    "bscam-subsidy-q5": ("hire-online-subsidy", "take-passbook", "its-only-300"),
    "bscam-subsidy-q6": ("pay-300-just", "dont-pay-but", "refuse-warn-him"),
}


def _answers() -> sa.TableClause:
    return sa.table(
        "answers",
        sa.column("question_id", sa.String),
        sa.column("option_index", sa.Integer),
        sa.column("option_id", sa.String),
    )


def _old_totals() -> sa.TableClause:
    return sa.table(
        "option_totals",
        sa.column("question_id", sa.String),
        sa.column("option_index", sa.Integer),
        sa.column("chosen", sa.Integer),
    )


def _new_totals() -> sa.TableClause:
    return sa.table(
        "option_totals",
        sa.column("question_id", sa.String),
        sa.column("option_id", sa.String),
        sa.column("chosen", sa.Integer),
    )


def upgrade() -> None:
    op.add_column("answers", sa.Column("option_id", sa.String(24), nullable=True))
    answers = _answers()
    for question_id, ids in OPTION_IDS.items():
        op.execute(
            answers.update()
            .where(answers.c.question_id == question_id)
            .values(option_id=sa.case(dict(enumerate(ids)), value=answers.c.option_index))
        )

    old = _old_totals()
    rows = op.get_bind().execute(sa.select(old.c.question_id, old.c.option_index, old.c.chosen))
    carried: dict[tuple[str, str], int] = {}
    for question_id, index, chosen in rows:
        ids = OPTION_IDS.get(question_id, ())
        if 0 <= index < len(ids):
            key = (question_id, ids[index])
            carried[key] = carried.get(key, 0) + chosen
    op.drop_table("option_totals")
    op.create_table(
        "option_totals",
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("option_id", sa.String(24), nullable=False),
        sa.Column("chosen", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("question_id", "option_id", name="pk_option_totals"),
    )
    if carried:
        op.bulk_insert(
            _new_totals(),
            [{"question_id": q, "option_id": o, "chosen": n} for (q, o), n in carried.items()],
        )

    op.add_column(
        "assessment_sittings",
        sa.Column("instrument_version", sa.Integer, nullable=False, server_default="1"),
    )


def downgrade() -> None:
    with op.batch_alter_table("assessment_sittings") as batch:
        batch.drop_column("instrument_version")

    new = _new_totals()
    rows = op.get_bind().execute(sa.select(new.c.question_id, new.c.option_id, new.c.chosen))
    carried: dict[tuple[str, int], int] = {}
    for question_id, option_id, chosen in rows:
        ids = OPTION_IDS.get(question_id, ())
        if option_id in ids:
            key = (question_id, ids.index(option_id))
            carried[key] = carried.get(key, 0) + chosen
    op.drop_table("option_totals")
    op.create_table(
        "option_totals",
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("option_index", sa.Integer, nullable=False),
        sa.Column("chosen", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("question_id", "option_index", name="pk_option_totals"),
    )
    if carried:
        op.bulk_insert(
            _old_totals(),
            [{"question_id": q, "option_index": i, "chosen": n} for (q, i), n in carried.items()],
        )

    with op.batch_alter_table("answers") as batch:
        batch.drop_column("option_id")
