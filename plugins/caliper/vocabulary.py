"""IMS Caliper Analytics 1.2 as data: profiles, actions and the profile tables.

Everything here is transcribed from the Caliper 1.2 specification (the profile tables of
"Metric Profiles", the Event subtype definitions, and the terms of the JSON-LD context
http://purl.imsglobal.org/ctx/caliper/v1p2), plus the TimebackProfile extension that seeds/002
lists. Validation and mapping read these tables; no rule about Caliper lives anywhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

CALIPER_CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"
CALIPER_CONTEXTS = frozenset({CALIPER_CONTEXT, "https://purl.imsglobal.org/ctx/caliper/v1p2"})
DATA_VERSION = CALIPER_CONTEXT
DATA_VERSIONS = CALIPER_CONTEXTS
CALIPER_TERMS = "http://purl.imsglobal.org/caliper/"
ACTION_IRI = CALIPER_TERMS + "actions/"

ACTIONS = frozenset({
    "Abandoned", "Accepted", "Activated", "Added", "Archived", "Attached", "Bookmarked",
    "ChangedResolution", "ChangedSize", "ChangedSpeed", "ChangedVolume", "Classified", "ClosedPopout",
    "Commented", "Completed", "Copied", "Created", "Deactivated", "Declined", "Deleted", "Described",
    "DisabledClosedCaptioning", "Disliked", "Downloaded", "EnabledClosedCaptioning", "Ended",
    "EnteredFullScreen", "ExitedFullScreen", "ForwardedTo", "Graded", "Hid", "Highlighted",
    "Identified", "JumpedTo", "Launched", "Liked", "Linked", "LoggedIn", "LoggedOut", "MarkedAsRead",
    "MarkedAsUnread", "Modified", "Muted", "NavigatedTo", "OpenedPopout", "OptedIn", "OptedOut",
    "Paused", "Posted", "Printed", "Published", "Questioned", "Ranked", "Recommended", "Removed",
    "Reset", "Restarted", "Restored", "Resumed", "Retrieved", "Returned", "Reviewed", "Rewound",
    "Saved", "Searched", "Sent", "Shared", "Showed", "Skipped", "Started", "Submitted", "Subscribed",
    "Tagged", "TimedOut", "Unmuted", "Unpublished", "Unsubscribed", "Uploaded", "Used", "Viewed",
    "SpentTime",  # TimebackProfile
})
# The specification text and its JSON-LD context spell a few actions differently; both are
# accepted and the canonical (left-hand) term is used for rules and IRIs.
ACTION_ALIASES = {
    "MarkedAsUnRead": "MarkedAsUnread",
    "DisabledCloseCaptioning": "DisabledClosedCaptioning",
    "EnabledCloseCaptioning": "EnabledClosedCaptioning",
}
ANY_ACTION = ACTIONS

MEDIA_ACTIONS = frozenset({
    "Started", "Ended", "Paused", "Resumed", "Restarted", "ForwardedTo", "JumpedTo",
    "ChangedResolution", "ChangedSize", "ChangedSpeed", "ChangedVolume", "EnabledClosedCaptioning",
    "DisabledClosedCaptioning", "EnteredFullScreen", "ExitedFullScreen", "Muted", "Unmuted",
    "OpenedPopout", "ClosedPopout",
})


@dataclass(frozen=True)
class Rule:
    """One row of a profile table: which actions an event type allows, and on which entities.

    `generated` is empty when the profile names no generated entity (then any Entity may be
    generated). `requires` lists event properties this row makes mandatory.
    """

    profile: str
    event: str
    actions: frozenset[str]
    actor: tuple[str, ...]
    object: tuple[str, ...]
    generated: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


def _rule(profile: str, event: str, actions: str | frozenset[str], actor: str, objects: str,
          generated: str = "", requires: str = "") -> Rule:
    chosen = frozenset(actions.split()) if isinstance(actions, str) else actions
    return Rule(profile, event, chosen, tuple(actor.split()), tuple(objects.split()),
                tuple(generated.split()), tuple(requires.split()))


RULES: tuple[Rule, ...] = (
    _rule("GeneralProfile", "Event", ANY_ACTION, "Agent", "Entity"),
    _rule("AnnotationProfile", "AnnotationEvent", "Bookmarked Highlighted Shared Tagged",
          "Person", "DigitalResource", "Annotation"),
    _rule("AssessmentProfile", "AssessmentEvent", "Started Paused Resumed Restarted Reset Submitted",
          "Person", "Assessment", "Attempt"),
    _rule("AssessmentProfile", "AssessmentItemEvent", "Started Skipped Completed", "Person",
          "AssessmentItem", "Attempt Response"),
    _rule("AssessmentProfile", "NavigationEvent", "NavigatedTo", "Person", "Assessment AssessmentItem"),
    _rule("AssessmentProfile", "ViewEvent", "Viewed", "Person", "Assessment AssessmentItem"),
    _rule("AssignableProfile", "AssignableEvent",
          "Activated Deactivated Started Completed Submitted Reviewed", "Person",
          "AssignableDigitalResource", "Attempt"),
    _rule("AssignableProfile", "NavigationEvent", "NavigatedTo", "Person", "AssignableDigitalResource"),
    _rule("AssignableProfile", "ViewEvent", "Viewed", "Person", "AssignableDigitalResource"),
    _rule("FeedbackProfile", "FeedbackEvent", "Commented Ranked", "Person", "Entity", "Comment Rating"),
    _rule("ForumProfile", "ForumEvent", "Subscribed Unsubscribed", "Person", "Forum"),
    _rule("ForumProfile", "ThreadEvent", "MarkedAsRead MarkedAsUnread", "Person", "Thread"),
    _rule("ForumProfile", "MessageEvent", "MarkedAsRead MarkedAsUnread Posted", "Person", "Message"),
    _rule("ForumProfile", "NavigationEvent", "NavigatedTo", "Person", "Forum Thread Message"),
    _rule("ForumProfile", "ViewEvent", "Viewed", "Person", "Forum Thread Message"),
    _rule("GradingProfile", "GradeEvent", "Graded", "Agent", "Attempt", "Score"),
    _rule("GradingProfile", "ViewEvent", "Viewed", "Person", "Result"),
    _rule("MediaProfile", "MediaEvent", MEDIA_ACTIONS, "Person", "MediaObject"),
    _rule("MediaProfile", "NavigationEvent", "NavigatedTo", "Person", "MediaObject"),
    _rule("MediaProfile", "ViewEvent", "Viewed", "Person", "MediaObject"),
    _rule("ReadingProfile", "NavigationEvent", "NavigatedTo", "Person", "DigitalResource SoftwareApplication"),
    _rule("ReadingProfile", "ViewEvent", "Viewed", "Person", "DigitalResource"),
    _rule("ResourceManagementProfile", "ResourceManagementEvent",
          "Archived Copied Created Deleted Described Downloaded Modified Printed Published Restored "
          "Retrieved Saved Unpublished Uploaded", "Person", "DigitalResource", "DigitalResource"),
    _rule("SearchProfile", "SearchEvent", "Searched", "Person", "DigitalResource SoftwareApplication",
          "SearchResponse"),
    _rule("SessionProfile", "SessionEvent", "LoggedIn LoggedOut", "Person", "SoftwareApplication"),
    _rule("SessionProfile", "SessionEvent", "TimedOut", "SoftwareApplication", "Session"),
    _rule("SurveyProfile", "SurveyInvitationEvent", "Sent Accepted Declined", "Person", "SurveyInvitation"),
    _rule("SurveyProfile", "SurveyEvent", "OptedIn OptedOut", "Person", "Survey"),
    _rule("SurveyProfile", "QuestionnaireEvent", "Started Submitted", "Person", "Questionnaire", "Attempt"),
    _rule("SurveyProfile", "QuestionnaireItemEvent", "Started Skipped Completed", "Person",
          "QuestionnaireItem", "Attempt Response"),
    _rule("SurveyProfile", "NavigationEvent", "NavigatedTo", "Person", "Questionnaire QuestionnaireItem"),
    _rule("SurveyProfile", "ViewEvent", "Viewed", "Person", "Questionnaire QuestionnaireItem"),
    _rule("ToolLaunchProfile", "ToolLaunchEvent", "Launched", "Person", "SoftwareApplication",
          "DigitalResource", requires="federatedSession"),
    _rule("ToolLaunchProfile", "ToolLaunchEvent", "Returned", "Person", "SoftwareApplication", "DigitalResource"),
    _rule("ToolUseProfile", "ToolUseEvent", "Used", "Person", "SoftwareApplication", "AggregateMeasureCollection"),
    _rule("TimebackProfile", "TimebackActivityEvent", "Completed", "Agent", "Entity"),
    _rule("TimebackProfile", "ActivityEvent", "Completed", "Agent", "Entity"),
    _rule("TimebackProfile", "TimebackTimeSpentEvent", "SpentTime", "Agent", "Entity"),
    _rule("TimebackProfile", "TimeSpentEvent", "SpentTime", "Agent", "Entity"),
    # The timeback-caliper client's name for TimebackProfile on its LearnWith.AI platform.
    _rule("AggregationProfile", "ActivityEvent", "Completed", "Agent", "Entity"),
    _rule("AggregationProfile", "TimeSpentEvent", "SpentTime", "Agent", "Entity"),
)

PROFILES: tuple[str, ...] = (
    "AnnotationProfile", "AssessmentProfile", "ToolUseProfile", "GeneralProfile", "FeedbackProfile",
    "MediaProfile", "SurveyProfile", "ResourceManagementProfile", "ForumProfile", "AssignableProfile",
    "GradingProfile", "ReadingProfile", "SessionProfile", "SearchProfile", "ToolLaunchProfile",
    "TimebackProfile", "AggregationProfile",
)


def canonical_action(action: str) -> str:
    return ACTION_ALIASES.get(action, action)


def is_action(action: object) -> bool:
    """A Caliper action term (either spelling); safe on any JSON value."""
    return isinstance(action, str) and canonical_action(action) in ACTIONS


def rules_for(event_type: str, profile: str | None) -> list[Rule]:
    """The profile rows that can govern an event of this type (all profiles when none is named)."""
    return [rule for rule in RULES if rule.event == event_type and (profile is None or rule.profile == profile)]
