# deflect chat widget — Português. Ids and variables as in en/widget.ftl.

## shared

kind = { $kind ->
    [text] texto
    [image] imagem
    [audio] áudio
    [video] vídeo
    [document] documento
    [sticker] figurinha
    [location] localização
    [contacts] cartão de contato
    [interactive] botões
    [template] modelo
   *[other] { $kind }
}
message-placeholder = ({ kind })
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB

## button

button-label = Fale conosco

## window

chat-title = Chat
chat-close = Fechar o chat
messages-label = Mensagens
message-input = Sua mensagem
    .placeholder = Escreva uma mensagem…
send = Enviar
attach = Enviar uma imagem ou um documento
whatsapp-continue = Continuar no WhatsApp

## form

form-name = Seu nome
form-name-optional = Seu nome (opcional)
form-phone = Número de telefone, com código do país
form-phone-optional = Número de telefone, com código do país (opcional)
form-start = Iniciar chat
form-fill-in = { $field ->
    [name] Preencha seu nome.
    [phone] Preencha seu número de telefone.
   *[other] Preencha { $field }.
}

## bubbles

sr-you = Você:
sr-agent = Atendente:
sr-bot = Assistente:

## status

reconnecting = Reconectando…
agent-joined = Um atendente entrou no chat.
waiting-for-agent = Aguardando um atendente…
continued-on-whatsapp = Esta conversa continua no WhatsApp.
continued-on-whatsapp-status = Continuada no WhatsApp — você pode fechar esta janela.
agent-typing = O atendente está digitando…
answers-label = Respostas

## end

ended = A conversa foi encerrada.
new-chat = Iniciar um novo chat
rate-label = Avalie esta conversa
thanks = Obrigado!

## whatsapp

whatsapp-chosen = Continue este chat no WhatsApp:
whatsapp-no-agent = Nenhum atendente está livre agora. Continue este chat no WhatsApp — suas mensagens vão junto:
whatsapp-qr = Código QR que abre o WhatsApp com sua referência { $code }
whatsapp-open = Abrir o WhatsApp
whatsapp-reference = Referência { $code }
whatsapp-announce-closed = Estamos fechados no momento. Você pode continuar no WhatsApp com a referência { $code }.
whatsapp-announce-no-agent = Ainda não há atendente. Você pode continuar no WhatsApp com a referência { $code }.

## call

call-start = Ligue-nos
call-label = Chamada
call-keypad = Teclado
call-mute = Silenciar
call-hangup = Desligar
call-connecting = A ligar…
call-on = Em chamada { $time }
call-connected = A chamada está ligada.
call-ended = Chamada terminada
call-failed = Não foi possível fazer a chamada: { $error }

## files

file-download-failed = Não foi possível baixar o arquivo: { $error }
file-not-loaded = (não foi possível carregar { $name })
file-sticker = Figurinha
chat-unavailable = O chat não está disponível: { $error }

## continue

continue-title = Continue a sua conversa
continue-intro = Não conseguimos contactá-lo pelo WhatsApp. A sua referência é { $reference }.
continue-here = Continuar aqui
continue-whatsapp = Continuar no WhatsApp
continue-expired = Este link expirou ou não é válido. Responda à nossa mensagem ou ligue-nos novamente.
continue-ended = Esta conversa terminou.
continue-unavailable = Esta página não está disponível; responda à nossa mensagem ou ligue-nos novamente.
continue-later = Esta página não está disponível agora; tente novamente dentro de um minuto.
