"""The Caliper 1.2 information model as data: every Entity and Event type, its supertype and the
types of its own properties (Appendix B and C of the specification, and its term lists).

A property's type is a short spec read by `lrs_plugins.caliper.validation`:
  string, integer, decimal, boolean, DateTime, Duration, IRI, object (a JSON object), any;
  an entity type name (an object of that type or a subtype, or an IRI naming one), several joined
  by `|`; `[T]` an array of T; `Term:Name` one of the terms of TERMS[Name]; a trailing `!` marks a
  required property.
Types inherit their supertype's properties; a subtype may narrow one (e.g. `items`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class TypeDef:
    parent: str | None
    properties: dict[str, str]


def _t(parent: str | None, **properties: str) -> TypeDef:
    return TypeDef(parent, properties)


_DR_DATES = {name: "DateTime" for name in ("dateToActivate", "dateToShow", "dateToStartOn", "dateToSubmit")}
_TIMED = {"startedAtTime": "DateTime", "endedAtTime": "DateTime", "duration": "Duration"}
_SCORED = {"attempt": "Attempt", "scoredBy": "Agent", "comment": "string"}
_SCALE_ITEMS = {"scalePoints": "integer", "itemLabels": "[string]", "itemValues": "[string]"}

# Entities (Appendix C, D, E). `Entity` is the root; SystemIdentifier and the selectors are
# typed objects without an `id`.
ENTITIES: dict[str, TypeDef] = {
    "Entity": _t(None, id="IRI!", type="string!", name="string", description="string",
                 dateCreated="DateTime", dateModified="DateTime", otherIdentifiers="[SystemIdentifier]",
                 extensions="object"),
    "Agent": _t("Entity"),
    "Person": _t("Agent"),
    "Organization": _t("Agent", subOrganizationOf="Organization", members="[Agent]"),
    "CourseOffering": _t("Organization", courseNumber="string", academicSession="string"),
    "CourseSection": _t("CourseOffering", category="string"),
    "Group": _t("Organization"),
    "SoftwareApplication": _t("Agent", host="string", ipAddress="string", userAgent="string", version="string"),
    "AggregateMeasure": _t("Entity", metric="Term:Metric!", metricValue="decimal!", maxMetricValue="decimal",
                           startedAtTime="DateTime", endedAtTime="DateTime"),
    "Collection": _t("Entity", items="[Entity]"),
    "AggregateMeasureCollection": _t("Collection", items="[AggregateMeasure]"),
    "Survey": _t("Collection", items="[Questionnaire]"),
    "Annotation": _t("Entity", annotator="Person", annotated="DigitalResource"),
    "BookmarkAnnotation": _t("Annotation", bookmarkNotes="string"),
    "HighlightAnnotation": _t("Annotation", selection="TextPositionSelector", selectionText="string"),
    "SharedAnnotation": _t("Annotation", withAgents="[Agent]"),
    "TagAnnotation": _t("Annotation", tags="[string]"),
    "DigitalResource": _t("Entity", storageName="string", creators="[Agent]", mediaType="string",
                          keywords="[string]", learningObjectives="[LearningObjective]", isPartOf="Entity",
                          datePublished="DateTime", version="string"),
    "AssignableDigitalResource": _t("DigitalResource", **_DR_DATES, maxAttempts="integer", maxSubmits="integer",
                                    maxScore="decimal"),
    "Assessment": _t("AssignableDigitalResource", items="[AssessmentItem]"),
    "AssessmentItem": _t("AssignableDigitalResource", isTimeDependent="boolean"),
    "Chapter": _t("DigitalResource"),
    "Document": _t("DigitalResource"),
    "Page": _t("DigitalResource"),
    "WebPage": _t("DigitalResource"),
    "Frame": _t("DigitalResource", index="integer"),
    "LtiLink": _t("DigitalResource", messageType="Term:LtiMessageType"),
    "MediaLocation": _t("DigitalResource", currentTime="Duration"),
    "MediaObject": _t("DigitalResource", duration="Duration"),
    "AudioObject": _t("MediaObject", volumeLevel="string", volumeMin="string", volumeMax="string", muted="boolean"),
    "ImageObject": _t("MediaObject"),
    "VideoObject": _t("MediaObject"),
    "Message": _t("DigitalResource", replyTo="Message", body="string", attachments="[DigitalResource]"),
    "DigitalResourceCollection": _t("DigitalResource", items="[DigitalResource]"),
    "Forum": _t("DigitalResourceCollection", items="[Thread]"),
    "Thread": _t("DigitalResourceCollection", items="[Message]"),
    "Questionnaire": _t("DigitalResourceCollection", items="[QuestionnaireItem]"),
    "QuestionnaireItem": _t("DigitalResource", question="Question", categories="[string]", weight="decimal"),
    "SurveyInvitation": _t("DigitalResource", rater="Person", survey="Survey", sentCount="integer",
                           dateSent="DateTime"),
    "Question": _t("DigitalResource", questionPosed="string"),
    "DateTimeQuestion": _t("Question", minDateTime="DateTime", minLabel="string", maxDateTime="DateTime",
                           maxLabel="string"),
    "MultiselectQuestion": _t("Question", points="integer", itemLabels="[string]", itemValues="[string]"),
    "OpenEndedQuestion": _t("Question"),
    "RatingScaleQuestion": _t("Question", scale="Scale"),
    "Attempt": _t("Entity", assignee="Person", assignable="DigitalResource", isPartOf="Attempt", count="integer",
                  **_TIMED),
    "Comment": _t("Entity", commenter="Person", commentedOn="Entity", value="string"),
    "LearningObjective": _t("Entity"),
    "Link": _t("Entity"),
    "Membership": _t("Entity", organization="Organization", member="Person", roles="[Term:Role]",
                     status="Term:Status"),
    "Query": _t("Entity", creator="Person", searchTarget="Entity", searchTerms="string"),
    "Rating": _t("Entity", rater="Person", rated="Entity", question="Question", selections="[string]",
                 ratingComment="Comment"),
    "Response": _t("Entity", attempt="Attempt", **_TIMED),
    "DateTimeResponse": _t("Response", dateTimeSelected="DateTime"),
    "FillinBlankResponse": _t("Response", values="[string]"),
    "MultipleChoiceResponse": _t("Response", value="string"),
    "MultipleResponseResponse": _t("Response", values="[string]"),
    "MultiselectResponse": _t("Response", selections="[string]"),
    "OpenEndedResponse": _t("Response", value="string"),
    "RatingScaleResponse": _t("Response", selections="[string]"),
    "SelectTextResponse": _t("Response", values="[string]"),
    "TrueFalseResponse": _t("Response", value="string"),
    "Result": _t("Entity", maxResultScore="decimal", resultScore="decimal", **_SCORED),
    # scoreType (QUESTION_RESULT, XP, MASTERY): Timeback's, sent at the top level by timeback-caliper.
    "Score": _t("Entity", maxScore="decimal", scoreGiven="decimal", scoreType="string", **_SCORED),
    "Scale": _t("Entity"),
    "LikertScale": _t("Scale", **_SCALE_ITEMS),
    "MultiselectScale": _t("Scale", **_SCALE_ITEMS, isOrderedSelection="boolean", minSelections="integer",
                           maxSelections="integer"),
    "NumericScale": _t("Scale", minValue="decimal", minLabel="string", maxValue="decimal", maxLabel="string",
                       step="decimal"),
    "SearchResponse": _t("Entity", searchProvider="SoftwareApplication", searchTarget="Entity", query="Query",
                         searchResultsItemCount="integer"),
    "Session": _t("Entity", user="Person", client="SoftwareApplication", **_TIMED),
    "LtiSession": _t("Session", messageParameters="object"),
    "SystemIdentifier": _t(None, type="string!", identifier="string!", identifierType="Term:SystemIdentifierType!",
                           source="SoftwareApplication", extensions="object"),
    "Selector": _t(None, type="string!"),
    "TextPositionSelector": _t("Selector", start="integer!", end="integer!"),
    # TimebackProfile extension entities (seeds/002 AllProfiles), as the timeback-caliper client
    # sends them; metric items are plain objects `{type, value, ...}`.
    "TimebackUser": _t("Person", email="string", role="string"),
    "TimebackActivityContext": _t("Entity", subject="string", app="object", course="object", activity="object",
                                  process="boolean"),
    "TimebackActivityMetricsCollection": _t("Collection", items="[object]", attempt="integer"),
    "TimebackTimeSpentMetricsCollection": _t("Collection", items="[object]"),
    # The same events as the client rewrites them for LearnWith.AI (AggregationProfile).
    "ActivityMetricsCollection": _t("Collection", items="[ActivityMetric]", attempt="integer"),
    "TimeSpentMetricsCollection": _t("Collection", items="[TimeSpentMetric]"),
    "ActivityMetric": _t("Entity", metricType="string!", metricValue="decimal!"),
    "TimeSpentMetric": _t("Entity", metricType="string!", metricValue="decimal!"),
}

# Events (Appendix B): the base Event and each subtype's narrowed properties.
EVENTS: dict[str, TypeDef] = {
    "Event": _t(None, id="string!", type="string!", profile="string", actor="Agent!", action="string!",
                object="Entity!", eventTime="DateTime!", edApp="SoftwareApplication", generated="Entity",
                target="Entity", referrer="Entity", group="Organization", membership="Membership",
                session="Session", federatedSession="LtiSession", extensions="object"),
    "AnnotationEvent": _t("Event", actor="Person!", object="DigitalResource!", target="Frame",
                          generated="Annotation"),
    "AssessmentEvent": _t("Event", actor="Person!", object="Assessment!", generated="Attempt"),
    "AssessmentItemEvent": _t("Event", actor="Person!", object="AssessmentItem!", generated="Response|Attempt",
                              referrer="AssessmentItem"),
    "AssignableEvent": _t("Event", actor="Person!", object="AssignableDigitalResource!", target="Frame",
                          generated="Attempt"),
    "FeedbackEvent": _t("Event", actor="Person!", target="Frame", generated="Rating|Comment"),
    "ForumEvent": _t("Event", actor="Person!", object="Forum!"),
    "GradeEvent": _t("Event", object="Attempt!", generated="Score"),
    "MediaEvent": _t("Event", actor="Person!", object="MediaObject!", target="MediaLocation"),
    "MessageEvent": _t("Event", actor="Person!", object="Message!"),
    "NavigationEvent": _t("Event", actor="Person!", object="DigitalResource|SoftwareApplication!",
                          target="DigitalResource", referrer="DigitalResource|SoftwareApplication"),
    "QuestionnaireEvent": _t("Event", actor="Person!", object="Questionnaire!", generated="Attempt"),
    "QuestionnaireItemEvent": _t("Event", actor="Person!", object="QuestionnaireItem!",
                                 generated="Response|Attempt"),
    "ResourceManagementEvent": _t("Event", actor="Person!", object="DigitalResource!", generated="DigitalResource"),
    "SearchEvent": _t("Event", actor="Person!", generated="SearchResponse"),
    "SessionEvent": _t("Event", actor="Person|SoftwareApplication!", object="Session|SoftwareApplication!",
                       target="DigitalResource", referrer="DigitalResource|SoftwareApplication"),
    "SurveyEvent": _t("Event", actor="Person!", object="Survey!"),
    "SurveyInvitationEvent": _t("Event", actor="Person!", object="SurveyInvitation!"),
    "ThreadEvent": _t("Event", actor="Person!", object="Thread!"),
    "ToolLaunchEvent": _t("Event", actor="Person!", object="SoftwareApplication!", generated="DigitalResource",
                          target="Link|LtiLink"),
    "ToolUseEvent": _t("Event", actor="Person!", object="SoftwareApplication!", target="SoftwareApplication",
                       generated="AggregateMeasureCollection"),
    "ViewEvent": _t("Event", actor="Person!", object="DigitalResource!"),
    # TimebackProfile extension events (seeds/002) keep the base Event's properties.
    "TimebackActivityEvent": _t("Event"), "ActivityEvent": _t("Event"),
    "TimebackTimeSpentEvent": _t("Event"), "TimeSpentEvent": _t("Event"),
}

_LIS_ROLES = {
    "Administrator": "Administrator Developer ExternalDeveloper ExternalSupport ExternalSystemAdministrator "
                     "Support SystemAdministrator",
    "ContentDeveloper": "ContentDeveloper ContentExpert ExternalContentExpert Librarian",
    "Instructor": "ExternalInstructor Grader GuestInstructor Instructor Lecturer PrimaryInstructor "
                  "SecondaryInstructor TeachingAssistant TeachingAssistantGroup TeachingAssistantOffering "
                  "TeachingAssistantSection TeachingAssistantTemplate",
    "Learner": "ExternalLearner GuestLearner Learner NonCreditLearner",
    "Manager": "AreaManager CourseCoordinator Manager Observer ExternalObserver",
    "Member": "Member",
    "Mentor": "Advisor Auditor ExternalAdvisor ExternalAuditor ExternalLearningFacilitator ExternalMentor "
              "ExternalReviewer ExternalTutor LearningFacilitator Mentor Reviewer Tutor",
    "Officer": "Chair Secretary Treasurer Vice-Chair",
}
# The term lists of Appendix F (roles), G (statuses), E.2 (system identifier types), the Tool Use
# metrics and the LTI message types; with the two terms IMS's fixtures use beyond the JSON-LD
# context (Manager#Manager, CaseItemUri).
TERMS: dict[str, frozenset[str]] = {
    "Metric": frozenset({"AssessmentsPassed", "AssessmentsSubmitted", "MinutesOnTask", "SkillsMastered",
                         "StandardsMastered", "UnitsCompleted", "UnitsPassed", "WordsRead"}),
    "Role": frozenset({*_LIS_ROLES, *(f"{role}#{sub}" for role, subs in _LIS_ROLES.items() for sub in subs.split())}),
    "Status": frozenset({"Active", "Inactive"}),
    "SystemIdentifierType": frozenset({
        "AccountUserName", "CaseItemUri", "EmailAddress", "LisSourcedId", "LtiContextId", "LtiDeploymentId", "LtiPlatformId",
        "LtiToolId", "LtiUserId", "OneRosterSourcedId", "Other", "SisSourcedId", "SystemId"}),
    "LtiMessageType": frozenset({"LtiResourceLinkRequest", "LtiDeepLinkingRequest", "LtiDeepLinkingResponse"}),
}
ENTITY_TYPES = frozenset(ENTITIES)
# What an envelope may describe beside events: entities and the id-less typed objects.
DESCRIBABLE = ("Entity", "SystemIdentifier", "Selector")
EVENT_TYPES = frozenset(EVENTS)


@cache
def ancestry(kind: str) -> tuple[str, ...]:
    """The type, its supertype, ... up to the root (entity or event types)."""
    table = EVENTS if kind in EVENTS else ENTITIES
    chain: list[str] = []
    current: str | None = kind
    while current is not None:
        chain.append(current)
        current = table[current].parent
    return tuple(chain)


def is_a(kind: str, allowed: tuple[str, ...] | frozenset[str] | set[str]) -> bool:
    """Whether `kind` is one of `allowed` or a subtype of one (Caliper's type hierarchy)."""
    return kind in ENTITIES and any(name in allowed for name in ancestry(kind))


@cache
def properties(kind: str) -> dict[str, str]:
    """Every property of the type with its spec, a subtype's own spec winning over its supertype's."""
    table = EVENTS if kind in EVENTS else ENTITIES
    merged: dict[str, str] = {}
    for name in reversed(ancestry(kind)):
        merged.update(table[name].properties)
    return merged


@cache
def required(kind: str) -> tuple[str, ...]:
    """The type's required properties (specs ending in `!`)."""
    return tuple(name for name, spec in properties(kind).items() if spec.endswith("!"))
