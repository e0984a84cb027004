# deflect inbox — Português. Ids and variables as in en/inbox.ftl.

## shared

status = { $status ->
    [pending] aguardando cliente
    [queued] na fila
    [offered] oferecida
    [assigned] atribuída
    [bot] com o bot
    [relay] encaminhada ao WhatsApp de um agente
    [closed] encerrada
   *[other] { $status }
}
channel = { $channel ->
    [whatsapp] WhatsApp
    [web] Chat web
    [sms] SMS
   *[other] { $channel }
}
role = { $role ->
    [agent] agente
    [supervisor] supervisor
    [admin] administrador
   *[other] { $role }
}
presence = { $presence ->
    [available] disponível
    [away] ausente
    [offline] offline
   *[other] { $presence }
}
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
message-placeholder = [{ kind }]
message-kind = ({ kind })
duration-seconds = { $n } s
duration-minutes = { $n } min
duration-hours = { $n } h
duration-hours-minutes = { $h } h { $m } min
duration-minutes-seconds = { $m } min { $s } s
size-bytes = { $n } B
size-kb = { $n } KB
size-mb = { $n } MB
any = qualquer
never = nunca

## login, title

page-title = Caixa de entrada deflect
tab-title = { $n ->
    [0] Caixa de entrada deflect
   *[other] ({ $n }) Caixa de entrada deflect
}
login-heading = Caixa de entrada deflect
login-username = Usuário
login-password = Senha
login-submit = Entrar

## header

nav-label = Visualizações
nav-mine = Minhas conversas
nav-queue = Fila
nav-waiting = Aguardando cliente
    .title = Chamadas desviadas e transferências cujo cliente ainda não escreveu
nav-all = Todas as conversas
nav-board = Painel
nav-settings = Configurações
nav-reports = Relatórios
nav-count-title = { $conversations ->
    [one] { $conversations } conversa
   *[other] { $conversations } conversas
}, { $unread ->
    [one] { $unread } mensagem não lida
   *[other] { $unread } mensagens não lidas
}
notify-enable = Ativar notificações
    .title = Mostrar uma notificação na área de trabalho para ofertas e mensagens de clientes enquanto a caixa de entrada está em segundo plano
sound-on = Som ativado
sound-off = Som desativado
auto-accept = Aceitar automaticamente
    .title = Aceitar cada oferta na hora, sem clicar em Aceitar
auto-accept-on = As ofertas são aceitas na hora
auto-accept-off = As ofertas aguardam sua aceitação
presence-label = Status
presence-available = Disponível
presence-away = Ausente
presence-offline = Offline
presence-changed = Status: { presence }
me = { $name } ({ role })
language-label = Idioma
language-auto = Idioma do navegador
logout = Sair

## side

side-label = Conversas
offers-label = Ofertas para você
search-label = Pesquisar conversas
search-input =
    .placeholder = Pesquisar: nome, número, referência, texto
search-submit = Pesquisar
search-clear = Limpar
sort-label = Ordenar
sort-newest = Mais recentes
sort-waiting = Maior espera
filter-from = De
filter-to = Até
filter-status = Status
filter-channel = Canal
filter-queue = Fila
filter-agent = Agente
filter-label = Etiqueta
filter-search = Pesquisar
    .placeholder = nome, número, referência, texto
filter-submit = Filtrar
filter-export = Exportar CSV
list-label = Conversas
list-more = Carregar mais
list-count = { $n ->
    [one] { $n } conversa
   *[other] { $n } conversas
}
list-count-more = { $n }+ conversas
list-results = Resultados para “{ $q }”: { $n ->
    [one] { $n } conversa
   *[other] { $n } conversas
}
list-results-more = Resultados para “{ $q }”: { $n }+ conversas

## row

visitor = Visitante { $reference }
channel-where = { channel } · { $where }
origin-call = De uma chamada
origin-api = Da API
origin-relay = Encaminhada ao WhatsApp de um agente
row-waiting-for-you = aguardando você
    .title = O cliente aguarda sua resposta
row-wait =
    .title = Há quanto tempo o cliente aguarda uma resposta
row-unread =
    .title = { $n ->
        [one] { $n } não lida
       *[other] { $n } não lidas
    }
preview-pending = Aguardando a primeira mensagem do cliente
preview-you = Você: { $text }
preview-agent = { $name }: { $text }
preview-bot = Bot: { $text }
preview-automatic = Automática: { $text }

## events

offer-announce = Nova conversa oferecida: { $name }
offer-notify = Nova conversa oferecida
customer-waiting-announce = Um cliente aguarda sua resposta: { $name }
customer-typing = O cliente está digitando…

## offer card

offer-label = Oferta: { $name }
offer-title = Nova conversa: { $name }
offer-countdown =
    .title = Tempo restante para responder à oferta
offer-accept = Aceitar (A)
offer-reject = Recusar (X)
offer-accepted = Aceita
offer-rejected = Recusada

## conversation

messages-label = Mensagens
back-label = Voltar para as conversas
empty = Escolha uma conversa.
note-toggle = Nota interna
canned-label = Resposta pronta
buttons-add = Adicionar botões
template-add = Modelo…
attach = Anexar arquivos
    .title = Anexar arquivos (ou soltá-los na conversa)
chosen-label = Arquivos a enviar
reply-label = Resposta
send = Enviar
board-label = Painel
settings-label = Configurações
reports-label = Relatórios

## composer extras

template-legend = Enviar um modelo aprovado do WhatsApp
template-search = Pesquisar por nome
template-choice = Modelo
template-preview-label = Prévia: o texto exato que o cliente recebe
template-send = Enviar modelo
template-cancel = Cancelar
buttons-legend = Botões abaixo da mensagem (a resposta é o texto deles)
buttons-kind = Tipo
buttons-kind-button = Botões de resposta (até 3)
buttons-kind-list = Lista (até 10 linhas)
buttons-kind-link = Botão de link
buttons-kind-call = Botão de chamada do WhatsApp
buttons-kind-permission = Pedir autorização para ligar
button-title = Título do botão { $n }
list-button-text = Texto do botão da lista
    .placeholder = Escolher
list-section = Título da seção
    .placeholder = Opções
list-rows = Linhas da lista, uma por linha: título, ou título | descrição
link-text = Texto do botão de link
link-url = URL do link
call-text = Texto do botão de chamada
    .placeholder = Ligar agora
buttons-remove = Remover botões

## message

note-by = Nota de { $name }
relay-from = { $name } pelo próprio WhatsApp (encaminhamento)
relay-to = Para o WhatsApp do agente (encaminhamento)
sender-customer = Cliente
sender-bot = Bot
sender-automation = Automação
sender-agent = Agente
reply-chosen =
    .title = Id da resposta: { $id }
reply-chosen-sr = (id da resposta { $id })
offered-buttons = Botões de resposta
offered-list-section = Seção da lista { $title }
offered-link = Botão de link
offered-call = Botão de chamada do WhatsApp
offered-permission = Autorização para ligar
permission-accepted = Chamadas autorizadas
permission-accepted-until = Chamadas autorizadas até { $until }
permission-rejected = Chamadas recusadas

## delivery

delivery = { $status ->
    [queued] na fila
    [sent] enviada
    [delivered] entregue
    [read] lida
    [failed] falhou
   *[other] { $status }
}
delivery-code = { $code ->
    [none] {""}
   *[other] {" "}({ $code })
}
failed-window = Não entregue{ delivery-code }: a última mensagem do cliente tem mais de 24 horas, então o WhatsApp agora só aceita um modelo aprovado.
failed-window-action = Enviar um modelo
failed-unreachable = Não entregue{ delivery-code }: este número não está disponível no WhatsApp.
failed-reason = Não entregue{ delivery-code }: { $reason }.
failed-refused = Não entregue{ delivery-code }: o provedor recusou.
queued-rate-limited = O WhatsApp pediu para enviar mais devagar{ delivery-code }; será enviada novamente em breve.
queued-retry-reason = Ainda não enviada{ delivery-code }: { $reason }; tentando novamente.
queued-retry = Ainda não enviada{ delivery-code }: o provedor não aceitou; tentando novamente.

## files

file-downloading = Baixando ({ kind })…
file-downloading-retry = Baixando ({ kind })… (tentando novamente: { $error })
file-failed = Não foi possível baixar ({ kind }): { $error }
file-failed-unknown = Não foi possível baixar ({ kind }): motivo desconhecido
file-open =
    .title = Abrir em tamanho real
file-sticker = Figurinha
file-picture = Imagem
map-link = Ver no mapa
file-remove = Remover { $name }
    .title = Remover

## call

call-heading = Chamada desviada
call-caller = Chamador
call-dialled = Número discado
call-callback = Número para retorno
call-wait = Espera
call-input = Entrada
call-input-method = { $method ->
    [caller_number] o número de onde ligou
    [dtmf] teclado
    [speech] voz
   *[other] { $method }
}
call-time = Chamada
call-transcript = Transcrição
call-path = Percurso
# at: inbox.js ivrPath() (the contact panel's and the header's path): how a step was left
call-exit = { $exit ->
    [open] aberto
    [closed] fechado
    [confirmed] confirmado
    [reenter] digitado de novo
    [failed] falhou
   *[other] { $exit }
}
call-exit-retry = nova tentativa { $n }
call-exit-skipped = { $n ->
    [one] { $n } passo omitido
   *[other] { $n } passos omitidos
}

## head

form-phone = { $phone } (digitado em um formulário: { $form })
csat = Avaliação { $score }/5
    .title = Satisfação do cliente, de 1 (ruim) a 5 (boa)
csat-comment = Avaliação { $score }/5: “{ $comment }”
action-accept = Aceitar
action-reject = Recusar
action-claim = Assumir
action-call = Ligar
action-take-over = Assumir do bot
taken-over = Assumida do bot
transfer-to = Transferir para
transfer-agents = Agentes
transfer-queues = Filas
transfer-agent = { $name } ({ presence })
transfer-available = Agentes disponíveis
transfer-away = Agentes ausentes ou offline
transfer-option = { $name } · { presence }
transfer-option-load = { $name } · { presence } · { $load }/{ $capacity }
transfer-note = Nota para o próximo agente (opcional)
    .placeholder = Nota (opcional)
transfer-confirm = { $back ->
    [you] { $name } está { presence }: a oferta fica aguardando e volta para você se não for aceita a tempo. Transferir mesmo assim?
   *[other] { $name } está { presence }: a oferta fica aguardando e volta para o agente da conversa se não for aceita a tempo. Transferir mesmo assim?
}
action-transfer = Transferir
transferred = Transferida
disposition = Tabulação
disposition-choose = Tabulação…
disposition-none = Sem tabulação
action-close = Encerrar
closed-announce = Encerrada
action-transcript = Transcrição
window-note = A última mensagem do cliente tem mais de 24 horas (ou ainda não há nenhuma), então o WhatsApp só aceita um modelo aprovado, não texto livre. Envie um modelo; você poderá escrever livremente assim que o cliente responder.
window-choose-template = Escolher um modelo
window-recontact = Enviar modelo de recontato
template-sent = Modelo enviado
unreachable-note = Este número não está disponível no WhatsApp (o provedor informou que não consegue entregar), então não é possível enviar mensagens; notas internas ainda podem ser escritas. Entre em contato com o cliente de outra forma.

## templates

templates-loading = Carregando modelos…
templates-stale = A última busca no WhatsApp falhou ({ $error }); esta é a lista de { $time }.
templates-stale-never = A última busca no WhatsApp falhou ({ $error }); nenhuma lista foi obtida antes.
templates-count = { $n ->
    [one] { $n } modelo.
   *[other] { $n } modelos.
}
templates-none = Nenhum modelo aprovado corresponde (a lista da conta vem do WhatsApp; um supervisor pode atualizá-la).
template-header = Cabeçalho { $placeholder }
template-header-media = URL do { $format } do cabeçalho (https)
template-parameter = Parâmetro { $placeholder }
template-button-url = Variável de URL do botão “{ $text }”
template-choose-first = Escolha um modelo primeiro.

## composer errors

note-no-buttons = Uma nota interna não pode ter botões: remova-os ou desmarque Nota interna.
note-no-files = Uma nota interna não pode conter arquivos: remova-os ou desmarque Nota interna.
buttons-no-files = Uma mensagem com botões não pode conter arquivos: envie os arquivos primeiro ou remova os botões.

## board

board-queues = Filas
board-queue = Fila
board-waiting = Aguardando
board-oldest = Maior espera
board-offered = Oferecidas
board-with-agents = Com agentes
board-awaiting-reply = Aguardando resposta
board-agents = Agentes
board-agent = Agente
board-role = Função
board-presence = Status
board-load = Carga
board-agent-queues = Filas
board-updated = Atualizado { $time }

## admin

admin-canned = Respostas prontas
admin-title = Título
admin-account = Conta
admin-text = Texto
admin-canned-text = Texto ({ $placeholders })
admin-all = todas
admin-delete = Excluir
admin-add = Adicionar
admin-agents = Agentes
admin-username = Usuário
admin-name = Nome
admin-role = Função
admin-queues = Filas
admin-accounts = Contas
admin-whatsapp-accounts = Contas do WhatsApp
admin-role-of = Função de { $username }
admin-queues-of = Filas de { $username }
admin-accounts-of = Contas de { $username }
admin-save-queues = Salvar filas e contas
admin-no-account = Sem conta: não vê conversas do WhatsApp
admin-enable = Ativar
admin-disable = Desativar
admin-password = Senha (8+)
admin-add-agent = Adicionar agente
admin-tick-account = Marque pelo menos uma conta do WhatsApp: um agente sem conta não vê conversas.
admin-tokens = Tokens de API
admin-acts-as = Age como
admin-created = Criado
admin-last-used = Último uso
admin-revoked = revogado
admin-revoke = Revogar
admin-create-token = Criar token
admin-new-token = Novo token (mostrado uma única vez; envie-o como Authorization: Bearer …): { $secret }
admin-reset-password = Redefinir senha
admin-set-password = Definir senha
admin-new-password = Nova senha para { $username }
admin-password-changed = Senha de { $username } alterada

## lists

admin-every-account = todas as contas
admin-source = Origem
admin-source-config = configuração ({ $key })
admin-source-here = adicionado aqui
admin-whitelist = Lista de permitidos
admin-whitelist-help = Números que podem abrir uma conversa escrevendo. Uma conta sem entradas (aqui ou para todas as contas) aceita todos; a primeira entrada a restringe aos números listados.
admin-whitelist-empty = Sem entradas: qualquer número pode escrever.
admin-pattern = Número ou prefixo
    .placeholder = +5511912345678 ou +5511*
admin-delete-pattern = Excluir { $pattern } de { $scope }
admin-whitelist-add = Adicionar à lista de permitidos
admin-faq = Perguntas frequentes
admin-faq-help = Perguntas que o bot de FAQ responde (bot = "faq"); uma mensagem do cliente que corresponda bem a uma pergunta recebe a resposta dela.
admin-faq-empty = Ainda não há perguntas.
admin-question = Pergunta
admin-answer = Resposta
admin-faq-answer = Resposta ({ $placeholders })
admin-language = Idioma
admin-faq-add = Adicionar pergunta
admin-faq-save = Salvar pergunta
admin-faq-cancel = Cancelar edição
admin-edit = Editar
admin-edit-canned = Editar resposta pronta: { $title }
admin-edit-question = Editar: { $question }
admin-delete-question = Excluir: { $question }

## inbox-settings.js: part() (settings: automations, widget texts and queues)

settings-legend = Automações, textos do widget e filas
settings-help = As alterações valem na hora, sem reiniciar. As chaves definidas no arquivo de configuração são alteradas lá.
settings-change = Alterar
settings-texts-in = Textos em
settings-site-language = o idioma do próprio site
settings-what = O que alterar
settings-scope = { $kind ->
    [inbox] Caixa de entrada (todas as conversas)
    [account] Conta do WhatsApp { $name }
    [site] Site do widget { $name }
    [flow] Fluxo de URA { $name }
    [queue] Fila { $name }
   *[other] { $kind } { $name }
}
settings-of = Configurações de { settings-scope }
settings-saved = Salvo: { settings-scope }
settings-last-changed = Última alteração: { $time }
settings-source-file = definido no arquivo de configuração ({ $key })
settings-source-here = alterado aqui
settings-source-default = padrão
settings-reset = Redefinir
settings-reset-label = Redefinir { $label }
settings-save = Salvar
settings-reset-all = Redefinir tudo para a configuração
setting-welcome-message = Mensagem de boas-vindas
setting-whitelist-reply = Resposta a números fora da lista de permitidos
setting-closed-message = Mensagem fora do horário de atendimento
setting-queue-message = Mensagem com a posição na fila ({ $placeholders })
setting-reminder-after = Lembrar o agente após (0s: desativado)
setting-reminder-message = Lembrete ao cliente
setting-reoffer-after = Oferecer a outro agente após (0s: desativado)
setting-inactivity-message = Mensagem quando um chat inativo é encerrado
setting-csat = Perguntar como foi após encerrar
setting-csat-question = Pergunta da pesquisa
setting-csat-follow-up = Resposta após a nota
setting-title = Título do widget
setting-greeting = Saudação
setting-site-closed-message = Mensagem de fechado
setting-escalation-timeout = Oferecer WhatsApp após
setting-ask-name = Pedir o nome
setting-ask-phone = Pedir o número de telefone
setting-offer-timeout = Oferecer a um agente por
setting-wait-timeout = Alternativa após a espera
setting-fallback = Alternativa
setting-fallback-queue = Fila alternativa
setting-auto-reply = Texto da resposta automática
setting-disposition-required = Tabulação obrigatória ao encerrar
setting-dispositions = Tabulações (separadas por vírgulas)
setting-sla-warning = Espera mostrada como atrasada após
setting-sla-breach = Espera mostrada como vencida após
setting-choice = { $value ->
    [required] obrigatório
    [optional] opcional
    [off] desativado
    [wait] continuar esperando
    [queue] outra fila
    [auto_reply] resposta automática
    [close] encerrar
   *[other] { $value }
}
setting-none = nenhuma
setting-translated = { $label } ({ $language })

## inbox-webhooks.js: adminParts (settings: outgoing webhook endpoints)

webhooks-legend = Webhooks
webhooks-help = Os eventos são enviados por POST como JSON assinado (X-Deflect-Signature) para estes endpoints, com novas tentativas cada vez mais espaçadas. Os endpoints do arquivo de configuração são alterados lá.
webhooks-none = Nenhum endpoint: nenhum evento é enviado.
webhooks-all-events = todos os eventos
webhooks-source-config = arquivo de configuração ({ $key })
webhooks-source-here = adicionado aqui
webhooks-col-name = Nome
webhooks-col-url = URL
webhooks-col-events = Eventos
webhooks-col-enabled = Ativo
webhooks-col-source = Origem
webhooks-enabled = { $enabled ->
    [yes] sim
   *[other] não
}
webhooks-events = Eventos (nenhum marcado: todos)
webhooks-name = Nome (a-z, 0-9, - e _)
webhooks-url = URL
webhooks-secret = Segredo de assinatura (16 caracteres ou mais)
webhooks-secret-kept = definido; deixe em branco para mantê-lo
webhooks-attempts = Tentativas
webhooks-timeout = Tempo limite (segundos)
webhooks-add = Adicionar endpoint
webhooks-save = Salvar { $name }
webhooks-cancel = Cancelar edição
webhooks-edit = Editar
webhooks-enable = Ativar
webhooks-disable = Desativar
webhooks-delete = Excluir
webhooks-edit-label = Editar o webhook { $name }
webhooks-enable-label = Ativar o webhook { $name }
webhooks-disable-label = Desativar o webhook { $name }
webhooks-delete-label = Excluir o webhook { $name } (as entregas que ainda aguardam por ele são descartadas)

## keys

keys-next = Próxima conversa
keys-previous = Conversa anterior
keys-accept = Aceitar a oferta
keys-reject = Recusar a oferta
keys-close = Encerrar a conversa
keys-transfer = Transferir: escolher para quem
keys-note = Ativar ou desativar nota interna
keys-reply = Escrever uma resposta
keys-search = Pesquisar conversas
keys-help = Mostrar estes atalhos
keys-title = Atalhos de teclado
keys-key = Tecla
keys-does = Ação
keys-hint = Em um campo de texto, segure Alt com a tecla. Na caixa de resposta, digite / e algumas letras para inserir uma resposta pronta; Ctrl+Enter envia.
keys-close-help = Fechar
note-on = Nota interna
note-off = Mensagem ao cliente
disposition-first = Escolha uma tabulação e depois Encerrar
canned-suggest = Respostas prontas

## inbox-reports.js: the reports view (supervisors)

reports-heading = Relatórios
reports-period = Período
reports-today = Hoje
reports-week = Últimos 7 dias
reports-custom = Personalizado
reports-from = De
reports-to = Até
reports-queues = Filas
reports-queue = Fila
reports-agents = Agentes (conta para o agente que estava com a conversa quando ela foi encerrada)
reports-agent = Agente
reports-in = Recebidas
reports-handled = Atendidas
reports-closed = Encerradas
reports-abandoned = Abandonadas
reports-first-response = Primeira resposta p50
reports-handle-time = Tempo de atendimento p50
reports-wait = Espera p50
reports-p90 = p90
reports-csat = Satisfação
reports-total = Total
reports-deflections = Chamadas desviadas por fluxo e forma de entrada
reports-flow = Fluxo
reports-input = Entrada
reports-deflections-count = Desviadas
reports-answered = Respondidas
reports-input-method = { $method ->
    [dtmf] teclado
    [speech] voz
    [caller_number] número de quem ligou
   *[other] { $method }
}
reports-volume = Conversas recebidas
    .alt = Conversas recebidas no período, por hora ou por dia
reports-wait-chart = Tempo de espera até um agente assumir
    .alt = Conversas encerradas no período pelo tempo que esperaram por um agente
reports-note = Os percentis são lidos de faixas de tempo: com precisão de 5 s abaixo de um minuto, de 30 s abaixo de 10 minutos e de 5 minutos abaixo de uma hora. As chamadas por resultado ainda não entram nos relatórios.

## inbox-contact.js: the contact panel beside a conversation

contact-label = Contato
contact-show = Contato ‹
    .title = Mostrar o painel do contato
contact-hide = Contato ›
    .title = Ocultar o painel do contato
contact-failed = Não foi possível carregar o contato: { $error }
contact-nothing = Nenhuma informação.
contact-profile = Perfil
contact-name = Nome
contact-phone = { $whatsapp ->
    [yes] Telefone (WhatsApp)
   *[other] Telefone
}
contact-form-phone = Informado em um formulário
contact-language = Idioma
contact-whatsapp = WhatsApp
contact-visitor = Visitante do widget
contact-visitor-on = em { $site } desde { $time }
contact-since = Conhecido desde
contact-labels = Etiquetas
contact-new-label = Nova etiqueta
    .placeholder = adicionar uma etiqueta
contact-add = Adicionar
contact-label-added = Etiqueta { $label } adicionada
contact-label-removed = Etiqueta { $label } removida
contact-remove-label = Remover a etiqueta { $label }
    .title = Remover
contact-no-labels = Nenhuma etiqueta.
contact-previous = Outras conversas
contact-previous-none = Nenhuma que você possa ver.
contact-attributes = Atributos
contact-site = Site do widget
contact-page = Página
contact-came-from = Veio de
contact-call = Chamada
contact-not-call = Não é uma chamada desviada.
contact-flow = Fluxo
contact-input = Entrada
contact-input-method = { $method ->
    [dtmf] digitado no teclado
    [speech] falado
    [caller_number] o número de onde ligou
   *[other] { $method }
}
contact-transcript = { $method ->
    [speech] Palavras
   *[other] Dígitos
}
contact-ivr-time = Tempo na URA
contact-caller = Chamador
contact-dialled = Número discado
contact-called = Horário da chamada

phone-label = Telefone
phone-open = Abrir conversa
phone-answer = Atender
phone-decline = Recusar
phone-mute = Silenciar
phone-hold = Em espera
phone-hangup = Desligar
phone-keypad = Teclado
phone-from = { $caller } · fila { $queue } · { $channel }
phone-unknown-caller = Chamador desconhecido
phone-ringing = Chamada recebida
phone-connecting = Ligando…
phone-on = Em chamada { $time }
phone-held = Em espera { $time }
phone-connected = Chamada ligada
phone-ended = Chamada terminada
phone-failed = Não foi possível atender a chamada: { $error }
phone-to = Para { $caller } · { $channel }
phone-calling = Chamando…
phone-call-failed = Não foi possível fazer a chamada: { $error }
phone-ended-why = Chamada encerrada: { $reason }
