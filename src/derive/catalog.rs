//! The Acoustic Exchange contact-center event catalogue: the four event codes and, for each,
//! its attributes with their data type and whether Exchange requires them.
//!
//! Transcribed from the catalogue (seed `000_18ed4c1c3c5552c6.txt`). Everything that builds a
//! request body or counts a missing required attribute reads this table, so the catalogue is
//! stated once.

/// An Exchange contact-center event code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventCode {
    /// "Talked to an agent".
    AgentTalk,
    /// "Analysis of text in voice message".
    MessageAnalysis,
    /// "Self service".
    SelfService,
    /// "Automation trigger".
    AutomationTriggered,
}

impl EventCode {
    /// Every code, in catalogue order.
    pub const ALL: [EventCode; 4] = [
        EventCode::AgentTalk,
        EventCode::MessageAnalysis,
        EventCode::SelfService,
        EventCode::AutomationTriggered,
    ];

    /// The code as Exchange spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventCode::AgentTalk => "agentTalk",
            EventCode::MessageAnalysis => "messageAnalysis",
            EventCode::SelfService => "selfService",
            EventCode::AutomationTriggered => "automationTriggered",
        }
    }

    /// The code's attributes, in catalogue order.
    pub fn attributes(self) -> &'static [AttributeSpec] {
        match self {
            EventCode::AgentTalk => AGENT_TALK,
            EventCode::MessageAnalysis => MESSAGE_ANALYSIS,
            EventCode::SelfService => SELF_SERVICE,
            EventCode::AutomationTriggered => AUTOMATION_TRIGGERED,
        }
    }
}

const fn a(attr: Attr, data_type: DataType, required: bool) -> AttributeSpec {
    AttributeSpec {
        attr,
        data_type,
        required,
    }
}

use Attr::*;
use DataType::{Number, String};

const AGENT_TALK: &[AttributeSpec] = &[
    a(Description, String, false),
    a(EventId, String, false),
    a(EventName, String, true),
    a(AgentSkill, String, true),
    a(AgentSkillLevel, String, false),
    a(AgentDisposition, String, true),
    a(SubChannel, String, true),
    a(Location, String, false),
    a(DeviceType, String, false),
    a(Duration, Number, true),
    a(Notes, String, true),
    a(Sentiment, String, true),
    a(Tags, String, false),
];

const MESSAGE_ANALYSIS: &[AttributeSpec] = &[
    a(Description, String, false),
    a(EventId, String, false),
    a(EventName, String, true),
    a(Topic, String, true),
    a(Sentiment, String, true),
    a(Actionability, String, false),
    a(SubChannel, String, true),
    a(Duration, Number, true),
    a(Tags, String, false),
];

const SELF_SERVICE: &[AttributeSpec] = &[
    a(Description, String, false),
    a(EventId, String, false),
    a(EventName, String, true),
    a(SelfServiceApp, String, true),
    a(SelfServiceSelections, String, true),
    a(SubChannel, String, true),
    a(Location, String, false),
    a(DeviceType, String, true),
    a(Duration, Number, false),
    a(Tags, String, false),
];

const AUTOMATION_TRIGGERED: &[AttributeSpec] = &[
    a(Description, String, false),
    a(EventId, String, false),
    a(EventName, String, true),
    a(Action, String, false),
    a(Priority, String, false),
    a(AgentSkill, String, false),
    a(SubChannel, String, false),
    a(CallingList, String, false),
    a(Tags, String, false),
];

/// A catalogue data type, sent as the attribute's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// `string`
    String,
    /// `number` (the value is still sent as a JSON string: `"245"`).
    Number,
}

impl DataType {
    /// The `type` value of a request body attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Number => "number",
        }
    }
}

/// Every attribute name the catalogue uses, across all codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attr {
    /// `description`
    Description,
    /// `eventId`
    EventId,
    /// `eventName`
    EventName,
    /// `agentSkill`
    AgentSkill,
    /// `agentSkillLevel`
    AgentSkillLevel,
    /// `agentDisposition`
    AgentDisposition,
    /// `subChannel`
    SubChannel,
    /// `location`
    Location,
    /// `deviceType`
    DeviceType,
    /// `duration`
    Duration,
    /// `notes`
    Notes,
    /// `sentiment`
    Sentiment,
    /// `tags`
    Tags,
    /// `topic`
    Topic,
    /// `actionability`
    Actionability,
    /// `selfServiceApp`
    SelfServiceApp,
    /// `selfServiceSelections`
    SelfServiceSelections,
    /// `action`
    Action,
    /// `priority`
    Priority,
    /// `calling list` (the catalogue's spelling, with a space)
    CallingList,
}

impl Attr {
    /// The attribute name as the catalogue spells it.
    pub fn name(self) -> &'static str {
        match self {
            Attr::Description => "description",
            Attr::EventId => "eventId",
            Attr::EventName => "eventName",
            Attr::AgentSkill => "agentSkill",
            Attr::AgentSkillLevel => "agentSkillLevel",
            Attr::AgentDisposition => "agentDisposition",
            Attr::SubChannel => "subChannel",
            Attr::Location => "location",
            Attr::DeviceType => "deviceType",
            Attr::Duration => "duration",
            Attr::Notes => "notes",
            Attr::Sentiment => "sentiment",
            Attr::Tags => "tags",
            Attr::Topic => "topic",
            Attr::Actionability => "actionability",
            Attr::SelfServiceApp => "selfServiceApp",
            Attr::SelfServiceSelections => "selfServiceSelections",
            Attr::Action => "action",
            Attr::Priority => "priority",
            Attr::CallingList => "calling list",
        }
    }
}

/// One attribute of one event code.
#[derive(Debug, Clone, Copy)]
pub struct AttributeSpec {
    /// Which attribute.
    pub attr: Attr,
    /// Its catalogue data type.
    pub data_type: DataType,
    /// Exchange requires it: it is always sent (empty when the session has no value).
    pub required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_attributes_match_the_catalogue() {
        let required = |code: EventCode| -> Vec<&str> {
            code.attributes()
                .iter()
                .filter(|a| a.required)
                .map(|a| a.attr.name())
                .collect()
        };
        assert_eq!(
            required(EventCode::AgentTalk),
            [
                "eventName",
                "agentSkill",
                "agentDisposition",
                "subChannel",
                "duration",
                "notes",
                "sentiment"
            ]
        );
        assert_eq!(
            required(EventCode::MessageAnalysis),
            ["eventName", "topic", "sentiment", "subChannel", "duration"]
        );
        assert_eq!(
            required(EventCode::SelfService),
            [
                "eventName",
                "selfServiceApp",
                "selfServiceSelections",
                "subChannel",
                "deviceType"
            ]
        );
        assert_eq!(required(EventCode::AutomationTriggered), ["eventName"]);
        let counts: Vec<usize> = EventCode::ALL
            .iter()
            .map(|c| c.attributes().len())
            .collect();
        assert_eq!(counts, [13, 9, 10, 9]);
    }
}
