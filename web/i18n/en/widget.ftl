# deflect chat widget — English (the reference: every other language has every id of this
# file, with the same variables). The site's own texts (title, greeting, closed message) come
# from its settings, not from here. A "## file: place" comment names where the group's texts
# appear; web/i18n/MAPPING.md is generated from them.

## shared

# at: chat.js onEvent(): "(" + d.kind + ")"
kind = { $kind ->
    [text] text
    [image] picture
    [audio] audio
    [video] video
    [document] document
    [sticker] sticker
    [location] location
    [contacts] contact card
    [interactive] buttons
    [template] template
   *[other] { $kind }
}
# at: chat.js onEvent()
message-placeholder = ({ kind })
# at: chat.js sizeOf()
size-bytes = { $n } B
# at: chat.js sizeOf()
size-kb = { $n } KB
# at: chat.js sizeOf()
size-mb = { $n } MB

## widget.js: the chat button (its data-label attribute overrides it)

button-label = Chat with us

## chat.js: build() (the chat window)

chat-title = Chat
chat-close = Close chat
messages-label = Messages
message-input = Your message
    .placeholder = Write a message…
send = Send
attach = Send a picture or document
whatsapp-continue = Continue on WhatsApp

## chat.js: showForm() (the pre-chat form)

form-name = Your name
# at: chat.js showForm() add(): label + " (optional)"
form-name-optional = Your name (optional)
form-phone = Phone number, with country code
# at: chat.js showForm() add(): label + " (optional)"
form-phone-optional = Phone number, with country code (optional)
form-start = Start chat
# at: chat.js showForm(): "Please fill in " + name
form-fill-in = { $field ->
    [name] Please fill in your name.
    [phone] Please fill in your phone number.
   *[other] Please fill in { $field }.
}

## chat.js: bubble() (who wrote, for screen readers)

sr-you = You:
sr-agent = Agent:
sr-bot = Assistant:

## chat.js: connect(), onMessage(), onEvent() (status line and announcements)

reconnecting = Reconnecting…
agent-joined = An agent joined the chat.
waiting-for-agent = Waiting for an agent…
continued-on-whatsapp = This chat continues on WhatsApp.
continued-on-whatsapp-status = Continued on WhatsApp — you can close this window.
agent-typing = The agent is typing…
answers-label = Answers

## chat.js: finish(), rate() (the end of a conversation)

ended = The conversation has ended.
new-chat = Start a new chat
rate-label = Rate this conversation
thanks = Thank you!

## chat.js: escalate() (continuing on WhatsApp)

whatsapp-chosen = Continue this chat on WhatsApp:
whatsapp-no-agent = No agent is free right now. Continue this chat on WhatsApp — your messages come along:
whatsapp-qr = QR code that opens WhatsApp with your reference { $code }
whatsapp-open = Open WhatsApp
whatsapp-reference = Reference { $code }
# at: chat.js escalate(): announce
whatsapp-announce-closed = We are closed right now. You can continue on WhatsApp with reference { $code }.
# at: chat.js escalate(): announce
whatsapp-announce-no-agent = No agent yet. You can continue on WhatsApp with reference { $code }.

## chat.js: buildCall(), startCall(), endCall() (calling from the widget)

call-start = Call us
call-label = Call
call-keypad = Keypad
call-mute = Mute
call-hangup = Hang up
call-connecting = Calling…
# at: chat.js onAir(): the call's timer, e.g. "On call 1:05"
call-on = On call { $time }
call-connected = The call is connected.
call-ended = Call ended
call-failed = The call could not be made: { $error }

## chat.js: showFiles(), init() (files and errors the widget writes itself)

file-download-failed = The file could not be downloaded: { $error }
file-not-loaded = ({ $name } could not be loaded)
file-sticker = Sticker
chat-unavailable = The chat is not available: { $error }

## continue.html, continuing.rs: the page of the SMS fallback's continue link

continue-title = Continue your chat
continue-intro = We could not reach you on WhatsApp. Your reference is { $reference }.
continue-here = Continue here
continue-whatsapp = Continue on WhatsApp
continue-expired = This link has expired or is not valid. Reply to our message or call us again.
continue-ended = This conversation has ended.
continue-unavailable = This page is not available; reply to our message or call us again.
continue-later = This page is not available right now; try again in a minute.
