package data

// Messaging objects: what the emulated Omni-Channel (package
// emulator/messaging) writes when an end user starts a conversation, so
// MessagingEndUser and MessagingSession can be queried with SOQL as in an org
// with Messaging for In-App and Web. The custom fields stand for what a
// customer's Omni-Channel flow writes from the routing attributes.
const (
	ObjMessagingEndUser = "MessagingEndUser"
	ObjMessagingSession = "MessagingSession"
)

func messagingObjects() []*ObjectDef {
	return []*ObjectDef{
		object(ObjMessagingEndUser, "Messaging User", "Messaging Users", "0PA",
			f("Name", "string", 255, "name"),
			f("MessagingPlatformKey", "string", 255, "idl"),
			f("MessagingChannelId", "string", 18, ""),
			pick("MessageType", []string{"EmbeddedMessaging", "Text", "Facebook", "WhatsApp"}, "EmbeddedMessaging", ""),
			ref("ContactId", "Contact", "Contact", ""),
			ref("AccountId", "Account", "Account", ""),
			f("IsAuthenticated__c", "boolean", 0, "custom"),
		),
		object(ObjMessagingSession, "Messaging Session", "Messaging Sessions", "0Mw",
			f("Name", "string", 80, "name"),
			ref("MessagingEndUserId", "MessagingEndUser", "MessagingEndUser", ""),
			f("MessagingChannelId", "string", 18, ""),
			pick("Status", []string{"New", "Waiting", "Active", "Inactive", "Paused", "Ended", "Error", "Consent"}, "New", ""),
			pick("Origin", []string{"InboundInitiated", "OutboundInitiated", "TriggeredOutbound", "AgentInitiatedOutbound"}, "", ""),
			pick("AgentType", []string{"User", "Bot"}, "", ""),
			f("StartTime", "datetime", 0, ""),
			f("AcceptTime", "datetime", 0, ""),
			f("EndTime", "datetime", 0, ""),
			ref("CaseId", "Case", "Case", ""),
			f("ConversationId__c", "string", 36, "custom idl"),
			f("Queue__c", "string", 80, "custom"),
			f("Agent__c", "string", 80, "custom"),
			f("Topic__c", "string", 255, "custom"),
			f("UserId__c", "string", 255, "custom"),
			f("Description__c", "textarea", 4000, "custom"),
			f("RoutingAttributes__c", "textarea", 32768, "custom"),
		),
	}
}
