"""PolicyBot in Slack: Block Kit rendering, handlers and the app that ties them together."""
