/* states.c - what each TCP state means and what to do about it, in English and Korean, as cJSON. */
#include "states.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "sock.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A NULL-terminated list of names that are never translated (sysctls, counters, states). */
#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
/* One localized value, indexed by enum states_lang. */
#define L(en, ko) {[STATES_LANG_EN] = (en), [STATES_LANG_KO] = (ko)}

#define LANG_COUNT 2

static const char *const no_names[] = {NULL};

/* Which side of a connection reaches a state; the codes go out untranslated. */
enum role {
	ROLE_ACTIVE_CLOSER,
	ROLE_PASSIVE_CLOSER,
	ROLE_BOTH,
	ROLE_LISTENER,
	ROLE_CONNECTOR,
	ROLE_MAX,
};

static const struct {
	const char *code;
	const char *text[LANG_COUNT];
} roles[ROLE_MAX] = {
	[ROLE_ACTIVE_CLOSER] = {"active_closer",
				L("the side that closes first: its application called close() "
				  "and sent the first FIN (active close)",
				  "먼저 연결을 닫는 쪽: 애플리케이션이 close()를 호출해 첫 FIN을 "
				  "보낸 쪽(능동 종료, active close)")},
	[ROLE_PASSIVE_CLOSER] = {"passive_closer",
				 L("the side that receives the first FIN and closes second "
				   "(passive close)",
				   "상대의 FIN을 먼저 받고 나중에 닫는 쪽(수동 종료, passive close)")},
	[ROLE_BOTH] = {"both", L("either side of a connection", "연결의 양쪽 모두")},
	[ROLE_LISTENER] = {"listener",
			   L("the server side: a listening socket and the connections it accepts",
			     "서버 쪽: listen 소켓과 그 소켓이 받아들이는 연결")},
	[ROLE_CONNECTOR] = {"connector",
			    L("the client side, whose application calls connect()",
			      "connect()를 호출하는 클라이언트 쪽")},
};

/* The localized explanation of one state; every field is plain text. */
struct state_text {
	const char *title;
	const char *meaning;
	const char *enters_on;
	const char *leaves_on;
	const char *duration_bound;
	const char *problem_when;
	const char *remedy;
	const char *kernel;
};

struct state_info {
	enum role reached_by;
	const char *bounded; /* "yes", "no" or "orphan_only": untranslated code */
	int max_seconds;     /* > 0 only where Linux fixes the duration */
	const char *const *settings;
	const char *const *counters;
	const char *const *next;
	struct state_text text[LANG_COUNT];
};

static const struct state_info state_table[SOCK_STATE_MAX] = {
	[SOCK_CLOSE] = {
		.reached_by = ROLE_BOTH,
		.bounded = "no",
		.settings = no_names,
		.counters = NAMES("EstabResets", "AttemptFails", "OutRsts", "TCPAbortOnTimeout"),
		.next = NAMES("LISTEN", "SYN_SENT"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Closed: no connection",
				.meaning = "The socket has no connection. CLOSED is where the state "
					"machine starts and ends: a socket that was created but never "
					"connected or put into listen mode, and a connection that has "
					"finished or was aborted, are both CLOSED.",
				.enters_on = "socket() creates it; TIME_WAIT and LAST_ACK end here; so "
					"does any connection that sends or receives an RST, a connect() "
					"that is refused or times out, and every abort by the kernel "
					"(retransmission limit reached, SO_LINGER {1,0}, close() with "
					"unread data).",
				.leaves_on = "listen() moves a fresh socket to LISTEN; connect() sends a "
					"SYN and moves it to SYN_SENT. A socket that has been through a "
					"connection cannot be used again: the program closes it and "
					"creates a new one.",
				.duration_bound = "Nothing, and nothing needs to: a CLOSED socket holds "
					"no connection. It exists only while a process keeps its file "
					"descriptor open and is freed the moment the descriptor is "
					"closed.",
				.problem_when = "Seldom visible and seldom a problem by itself. A "
					"process that keeps sockets whose connection was reset or timed "
					"out, without closing them, leaks file descriptors: the same "
					"mistake as a CLOSE_WAIT leak, met later in the connection's "
					"life.",
				.remedy = "Make every error path (ECONNRESET, ETIMEDOUT, EPIPE, "
					"ECONNREFUSED) end in close(). EstabResets and AttemptFails show "
					"how often connections are cut off rather than closed in order.",
				.kernel = "Kernel number 7 (TCP_CLOSE). A closed socket is taken out of "
					"the kernel's connection tables, so neither the sock_diag dump "
					"nor /proc/net/tcp normally lists it and lingerd rarely reports "
					"this state: a TIME_WAIT or LAST_ACK entry that ends simply "
					"disappears from the next snapshot.",
			},
			[STATES_LANG_KO] = {
				.title = "CLOSED: 연결 없음",
				.meaning = "연결이 없는 소켓입니다. 상태 전이의 출발점이자 종착점으로, "
					"만들기만 하고 아직 연결하거나 listen하지 않은 소켓도, 정상적으로 "
					"끝났거나 강제로 끊긴 연결도 모두 CLOSED입니다.",
				.enters_on = "socket()으로 소켓을 만들면 이 상태에서 시작합니다. "
					"TIME_WAIT와 LAST_ACK도 끝나면 여기로 오며, RST를 주고받은 연결, "
					"거부되었거나 시간이 초과된 connect(), 커널이 강제로 끊은 연결"
					"(재전송 한도 초과, SO_LINGER {1,0}, 읽지 않은 데이터가 남은 채 "
					"close() 호출)도 모두 CLOSED가 됩니다.",
				.leaves_on = "새 소켓에 listen()을 호출하면 LISTEN으로, connect()를 "
					"호출하면 SYN을 보내고 SYN_SENT로 넘어갑니다. 한 번 연결에 쓰인 "
					"소켓은 다시 쓸 수 없으므로 close()하고 새 소켓을 만들어야 합니다.",
				.duration_bound = "제한이 없으며, 제한할 필요도 없습니다. CLOSED "
					"소켓에는 연결이 없습니다. 프로세스가 파일 디스크립터를 열어 두는 "
					"동안만 남아 있고, 디스크립터를 닫는 즉시 해제됩니다.",
				.problem_when = "눈에 띄는 일도, 그 자체로 문제가 되는 일도 드뭅니다. "
					"다만 RST나 시간 초과로 끊긴 소켓을 프로세스가 close()하지 않고 "
					"쌓아 두면 파일 디스크립터가 샙니다. CLOSE_WAIT 누수와 같은 "
					"실수가 연결의 더 뒤 단계에서 드러난 것입니다.",
				.remedy = "ECONNRESET, ETIMEDOUT, EPIPE, ECONNREFUSED 같은 오류 처리 "
					"경로가 모두 close()로 끝나는지 확인하세요. 연결이 정상 종료가 "
					"아니라 도중에 끊기는 빈도는 EstabResets와 AttemptFails 카운터로 "
					"알 수 있습니다.",
				.kernel = "커널 번호는 7(TCP_CLOSE)입니다. 닫힌 소켓은 커널의 연결 "
					"테이블에서 빠지므로 sock_diag 덤프에도 /proc/net/tcp에도 보통 "
					"나타나지 않고, lingerd가 이 상태를 보고하는 일도 드뭅니다. "
					"TIME_WAIT나 LAST_ACK가 끝난 항목은 다음 스냅숏에서 그냥 "
					"사라집니다.",
			},
		},
	},
	[SOCK_LISTEN] = {
		.reached_by = ROLE_LISTENER,
		.bounded = "no",
		.settings = NAMES("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog",
				  "net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow"),
		.counters = NAMES("ListenOverflows", "ListenDrops", "PassiveOpens",
				  "TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent"),
		.next = NAMES("SYN_RECV", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Listening for connections",
				.meaning = "A server socket waiting for clients. It never carries data "
					"itself: every handshake creates a separate connection socket, "
					"first a SYN_RECV request, then an ESTABLISHED connection that "
					"waits in the accept queue until the application calls accept().",
				.enters_on = "The application calls listen() on a bound socket.",
				.leaves_on = "close() on the listening socket: it goes to CLOSED, and "
					"connections still waiting in its accept queue are reset. "
					"Incoming SYNs do not change the listener's own state.",
				.duration_bound = "Nothing: it lasts as long as the server keeps the "
					"socket open.",
				.problem_when = "When the accept queue (rqueue in lingerd, Recv-Q in ss) "
					"stays close to the backlog (wqueue, Send-Q), or ListenOverflows "
					"and ListenDrops grow: the application does not accept() fast "
					"enough, and clients see slow or failed connects. Such a client "
					"may already believe it is ESTABLISHED while the server has "
					"dropped its final ACK. A listener that should exist but is "
					"missing shows up as 'connection refused' on the clients.",
				.remedy = "Make accepting faster: more acceptor threads, SO_REUSEPORT "
					"across workers, less work before accept(). Raise the listen() "
					"backlog and net.core.somaxconn together, because the kernel uses "
					"the smaller of the two. Keep net.ipv4.tcp_syncookies=1 so a SYN "
					"flood cannot fill the SYN queue. To restart a server without "
					"waiting for its TIME_WAIT entries, set SO_REUSEADDR before bind().",
				.kernel = "For a LISTEN socket the queue fields mean something else: "
					"rqueue is the current accept-queue length and wqueue the "
					"effective backlog, min(listen() backlog, somaxconn). "
					"ListenOverflows counts handshakes that completed into a full "
					"accept queue (the final ACK is dropped and the client has to "
					"retry); ListenDrops counts every SYN or ACK the listener dropped, "
					"overflows included.",
			},
			[STATES_LANG_KO] = {
				.title = "LISTEN: 연결 대기",
				.meaning = "클라이언트의 연결을 기다리는 서버 소켓입니다. 이 소켓으로 "
					"데이터가 오가지는 않습니다. 핸드셰이크마다 별도의 연결 소켓이 "
					"생기며, 처음에는 SYN_RECV 요청으로, 핸드셰이크가 끝나면 "
					"ESTABLISHED 연결로 accept 큐에 들어가 애플리케이션이 accept()할 "
					"때까지 기다립니다.",
				.enters_on = "애플리케이션이 bind()된 소켓에 listen()을 호출하면 이 "
					"상태가 됩니다.",
				.leaves_on = "listen 소켓을 close()하면 CLOSED가 되고, accept 큐에서 "
					"아직 꺼내지 않은 연결은 RST로 끊깁니다. SYN이 들어와도 listen "
					"소켓 자신의 상태는 바뀌지 않습니다.",
				.duration_bound = "제한 없음: 서버가 소켓을 열어 두는 동안 계속 "
					"유지됩니다.",
				.problem_when = "accept 큐 길이(lingerd의 rqueue, ss의 Recv-Q)가 "
					"백로그(wqueue, Send-Q)에 계속 가깝거나 ListenOverflows, "
					"ListenDrops가 늘어날 때입니다. 애플리케이션이 accept()를 제때 "
					"하지 못해 클라이언트의 연결이 느려지거나 실패합니다. 이때 "
					"클라이언트는 이미 ESTABLISHED라고 여기는데 서버는 마지막 ACK를 "
					"버린 상태일 수 있습니다. 있어야 할 LISTEN 소켓이 없으면 "
					"클라이언트는 'connection refused'를 받습니다.",
				.remedy = "accept 처리를 빠르게 하세요. accept 스레드를 늘리거나, "
					"워커마다 SO_REUSEPORT로 소켓을 나누거나, accept() 전에 하는 "
					"일을 줄입니다. 커널은 listen() 백로그와 net.core.somaxconn 중 "
					"작은 값을 쓰므로 두 값을 함께 올려야 합니다. SYN 폭주로 SYN 큐가 "
					"차지 않도록 net.ipv4.tcp_syncookies=1을 유지하세요. 서버를 "
					"재시작할 때 TIME_WAIT가 끝나기를 기다리지 않으려면 bind() 전에 "
					"SO_REUSEADDR를 설정하세요.",
				.kernel = "LISTEN 소켓에서는 큐 필드의 뜻이 다릅니다. rqueue는 현재 "
					"accept 큐 길이, wqueue는 실제로 적용되는 백로그, 즉 "
					"min(listen() 백로그, somaxconn)입니다. ListenOverflows는 accept "
					"큐가 가득 찬 상태에서 핸드셰이크가 끝난 횟수(마지막 ACK를 버리고 "
					"클라이언트가 다시 시도해야 함)이고, ListenDrops는 listen 소켓이 "
					"버린 SYN과 ACK 전체(오버플로 포함)입니다.",
			},
		},
	},
	[SOCK_SYN_SENT] = {
		.reached_by = ROLE_CONNECTOR,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_syn_retries", "net.ipv4.ip_local_port_range",
				  "net.ipv4.tcp_tw_reuse"),
		.counters = NAMES("ActiveOpens", "AttemptFails", "TCPSynRetrans", "TCPTimeouts"),
		.next = NAMES("ESTABLISHED", "SYN_RECV", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Connecting: SYN sent",
				.meaning = "The client side of a connection being opened: connect() has "
					"sent a SYN and the socket waits for the server's SYN-ACK.",
				.enters_on = "connect() on a new socket: the kernel picks an ephemeral "
					"port (unless the socket was bound to one) and sends a SYN.",
				.leaves_on = "SYN-ACK received: the kernel acknowledges it and the socket "
					"is ESTABLISHED. RST received (nothing listens on that port): "
					"CLOSED, connect() fails with ECONNREFUSED. No answer after "
					"tcp_syn_retries retransmissions: CLOSED with ETIMEDOUT. A bare "
					"SYN from the peer (simultaneous open): SYN_RECV.",
				.duration_bound = "net.ipv4.tcp_syn_retries (default 6): the SYN is "
					"repeated with a doubling timeout (1, 2, 4 ... 64 s), so an "
					"unanswered connect() gives up after about 130 s. TCP_SYNCNT "
					"sets the count per socket; many applications stop earlier with "
					"their own connect timeout.",
				.problem_when = "Many sockets in SYN_SENT, or a growing TCPSynRetrans, "
					"mean the destination is down, overloaded (its accept queue "
					"overflows), or behind a firewall that drops instead of rejecting. "
					"connect() failing with EADDRNOTAVAIL before any SYN goes out means "
					"the ephemeral ports towards that destination are used up, most "
					"often by TIME_WAIT.",
				.remedy = "Check that the destination is up and reachable; a firewall "
					"that silently drops SYNs makes every connect() wait for the full "
					"retry budget. Give clients a short connect timeout (non-blocking "
					"connect() with poll(), or TCP_SYNCNT) and back off between "
					"attempts. For EADDRNOTAVAIL see TIME_WAIT: reuse connections, set "
					"tcp_tw_reuse=1, widen ip_local_port_range.",
				.kernel = "Timer kind 1 (retransmit) counts down to the next SYN and "
					"retrans counts the SYNs repeated so far. The socket has an inode: "
					"the process that called connect() owns it.",
			},
			[STATES_LANG_KO] = {
				.title = "SYN_SENT: 연결 요청 중",
				.meaning = "연결을 여는 클라이언트 쪽 소켓입니다. connect()가 SYN을 "
					"보냈고, 서버의 SYN-ACK를 기다리고 있습니다.",
				.enters_on = "새 소켓에 connect()를 호출하면 커널이 (미리 bind하지 "
					"않았다면) 임시 포트를 골라 SYN을 보내고 이 상태로 둡니다.",
				.leaves_on = "SYN-ACK를 받으면 ACK로 답하고 ESTABLISHED가 됩니다. RST를 "
					"받으면(해당 포트에 listen 소켓이 없음) CLOSED가 되고 connect()는 "
					"ECONNREFUSED로 실패합니다. tcp_syn_retries만큼 재전송해도 응답이 "
					"없으면 ETIMEDOUT과 함께 CLOSED가 됩니다. 상대도 동시에 SYN만 "
					"보내 왔다면(동시 열기) SYN_RECV로 넘어갑니다.",
				.duration_bound = "net.ipv4.tcp_syn_retries(기본값 6)가 정합니다. SYN은 "
					"대기 시간을 두 배씩 늘려 가며(1, 2, 4 ... 64초) 재전송되므로, "
					"응답 없는 connect()는 약 130초 뒤에 포기합니다. 소켓별로는 "
					"TCP_SYNCNT로 횟수를 정할 수 있고, 많은 애플리케이션은 자체 연결 "
					"타임아웃으로 더 일찍 멈춥니다.",
				.problem_when = "SYN_SENT 소켓이 많거나 TCPSynRetrans가 계속 늘면, 대상 "
					"서버가 죽었거나, 과부하로 accept 큐가 넘치고 있거나, 방화벽이 "
					"거부 대신 패킷을 조용히 버리고 있는 것입니다. SYN을 보내기도 "
					"전에 connect()가 EADDRNOTAVAIL로 실패한다면 그 목적지로 쓸 임시 "
					"포트가 바닥난 것이며, 대개 TIME_WAIT가 원인입니다.",
				.remedy = "대상 서버가 살아 있고 도달 가능한지 확인하세요. SYN을 조용히 "
					"버리는 방화벽이 있으면 모든 connect()가 재시도 한도를 다 채울 "
					"때까지 기다립니다. 클라이언트에는 짧은 연결 타임아웃(논블로킹 "
					"connect()와 poll(), 또는 TCP_SYNCNT)을 주고, 재시도 사이에 "
					"간격을 두세요. EADDRNOTAVAIL이라면 TIME_WAIT 항목을 참고하세요. "
					"연결을 재사용하고, tcp_tw_reuse=1로 두고, ip_local_port_range를 "
					"넓히는 것이 해법입니다.",
				.kernel = "타이머 종류 1(재전송)이 다음 SYN까지 남은 시간을, retrans가 "
					"지금까지 재전송한 SYN 수를 나타냅니다. connect()를 호출한 "
					"프로세스가 소켓을 가지고 있으므로 inode가 있습니다.",
			},
		},
	},
	[SOCK_SYN_RECV] = {
		.reached_by = ROLE_LISTENER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_synack_retries", "net.ipv4.tcp_max_syn_backlog",
				  "net.ipv4.tcp_syncookies", "net.core.somaxconn"),
		.counters = NAMES("PassiveOpens", "AttemptFails", "TCPSynRetrans", "ListenOverflows",
				  "ListenDrops", "TCPReqQFullDrop", "TCPReqQFullDoCookies",
				  "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed"),
		.next = NAMES("ESTABLISHED", "FIN_WAIT_1", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Half-open: SYN received",
				.meaning = "The server side of a connection being opened: a SYN reached "
					"a listener, the kernel answered with a SYN-ACK and waits for the "
					"client's final ACK.",
				.enters_on = "A SYN arrives at a LISTEN socket, and the kernel creates a "
					"small request socket for it. Rarely, a SYN arrives in SYN_SENT "
					"(simultaneous open).",
				.leaves_on = "The client's ACK completes the handshake: the connection "
					"becomes ESTABLISHED and waits in the accept queue. After "
					"tcp_synack_retries unanswered SYN-ACKs, or on an RST, the request "
					"is dropped (CLOSED).",
				.duration_bound = "net.ipv4.tcp_synack_retries (default 5): the SYN-ACK "
					"is repeated 1, 3, 7, 15 and 31 s after the SYN arrived (the wait "
					"doubles each time), and the request is dropped at about 63 s.",
				.problem_when = "Hundreds or thousands in SYN_RECV, especially from many "
					"addresses, point to a SYN flood or to clients that vanish in the "
					"middle of the handshake; a growing SyncookiesSent means the SYN "
					"queue overflowed. SYN_RECV that piles up while ListenOverflows "
					"grows means the application's accept queue is full: the server "
					"is the bottleneck, not the network.",
				.remedy = "Keep net.ipv4.tcp_syncookies=1. Under a flood lower "
					"tcp_synack_retries to 2 or 3 so half-open requests go sooner, and "
					"filter at the network edge. If the accept queue is the cause, "
					"make the application accept faster and raise its listen() backlog "
					"together with somaxconn.",
				.kernel = "Handshakes in progress are request sockets (kernel state "
					"TCP_NEW_SYN_RECV, 12) that the dump reports as SYN_RECV. No "
					"process owns them, so inode is 0; a retransmit timer (kind 1) "
					"repeats the SYN-ACK and retrans counts the repeats. A full socket "
					"in SYN_RECV appears only with TCP Fast Open or a simultaneous "
					"open.",
			},
			[STATES_LANG_KO] = {
				.title = "SYN_RECV: SYN 수신, 핸드셰이크 진행 중",
				.meaning = "연결이 열리는 중인 서버 쪽 소켓입니다. listen 소켓에 SYN이 "
					"도착했고, 커널이 SYN-ACK로 답한 뒤 클라이언트의 마지막 ACK를 "
					"기다리고 있습니다.",
				.enters_on = "LISTEN 소켓에 SYN이 도착하면 커널이 이를 위한 작은 요청 "
					"소켓을 만듭니다. 드물게 SYN_SENT 상태에서 상대의 SYN을 받아도"
					"(동시 열기) 이 상태가 됩니다.",
				.leaves_on = "클라이언트의 ACK가 오면 핸드셰이크가 끝나 ESTABLISHED가 "
					"되고 accept 큐에서 기다립니다. tcp_synack_retries만큼 SYN-ACK를 "
					"보내도 답이 없거나 RST를 받으면 요청은 버려집니다(CLOSED).",
				.duration_bound = "net.ipv4.tcp_synack_retries(기본값 5)가 정합니다. "
					"SYN-ACK는 SYN이 도착한 지 1, 3, 7, 15, 31초 뒤에(간격이 매번 두 "
					"배로) 다시 보내지고, 약 63초가 지나면 요청이 버려집니다.",
				.problem_when = "SYN_RECV가 수백, 수천 개이고 특히 출발지가 다양하다면 "
					"SYN 폭주 공격이거나 핸드셰이크 도중에 사라지는 클라이언트가 있는 "
					"것입니다. SyncookiesSent가 늘면 SYN 큐가 넘친 것입니다. "
					"ListenOverflows가 늘면서 SYN_RECV가 쌓인다면 애플리케이션의 "
					"accept 큐가 가득 찬 것으로, 병목은 네트워크가 아니라 서버입니다.",
				.remedy = "net.ipv4.tcp_syncookies=1을 유지하세요. 공격을 받는 중이라면 "
					"tcp_synack_retries를 2~3으로 낮춰 반쯤 열린 요청을 빨리 정리하고, "
					"네트워크 경계에서 걸러 내세요. accept 큐가 원인이라면 "
					"애플리케이션이 더 빨리 accept()하게 하고, listen() 백로그와 "
					"somaxconn을 함께 올리세요.",
				.kernel = "진행 중인 핸드셰이크는 요청 소켓(커널 상태 TCP_NEW_SYN_RECV, "
					"12)이며 덤프에는 SYN_RECV로 보고됩니다. 소유한 프로세스가 없어 "
					"inode는 0이고, 재전송 타이머(종류 1)가 SYN-ACK를 다시 보내며 "
					"retrans가 그 횟수를 셉니다. 완전한 소켓이 SYN_RECV에 있는 경우는 "
					"TCP Fast Open이나 동시 열기뿐입니다.",
			},
		},
	},
	[SOCK_ESTABLISHED] = {
		.reached_by = ROLE_BOTH,
		.bounded = "no",
		.settings = NAMES("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
				  "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries2"),
		.counters = NAMES("CurrEstab", "EstabResets", "OutRsts", "TCPAbortOnTimeout",
				  "TCPAbortOnClose", "TCPKeepAlive", "TCPTimeouts"),
		.next = NAMES("FIN_WAIT_1", "CLOSE_WAIT", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Established: connection open",
				.meaning = "The handshake is complete and data can flow both ways. This "
					"is the normal working state of a connection; teardown has not "
					"started.",
				.enters_on = "The client receives the SYN-ACK in SYN_SENT; the server "
					"receives the final ACK in SYN_RECV.",
				.leaves_on = "The application calls close() or shutdown(SHUT_WR): a FIN "
					"goes out and the socket moves to FIN_WAIT_1 (active close). A FIN "
					"arrives from the peer: CLOSE_WAIT (passive close). An RST, a "
					"retransmission or keepalive limit, or close() with unread data: "
					"CLOSED.",
				.duration_bound = "Nothing: an idle connection can stay open for days. "
					"Only a dead peer is detected, by the retransmission limit while "
					"data is unacknowledged (net.ipv4.tcp_retries2, about 15 minutes "
					"by default, or TCP_USER_TIMEOUT) or by keepalive probes if "
					"SO_KEEPALIVE is set (by default 7200 s idle, then 9 probes 75 s "
					"apart).",
				.problem_when = "A count far above what the service needs suggests a "
					"connection leak (pools that never shrink, clients that never "
					"close) or a slow backend that holds connections. Connections to "
					"hosts that are gone keep memory and file descriptors until they "
					"are detected. A large rqueue means the application is not "
					"reading; a large wqueue means the peer or the network is not "
					"keeping up.",
				.remedy = "Bound connection pools and close idle connections after a "
					"timeout. Enable SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and "
					"TCP_KEEPCNT per socket (or lower the tcp_keepalive_* sysctls) so "
					"dead peers and expired NAT or firewall entries are found in "
					"minutes rather than hours; set TCP_USER_TIMEOUT to bound how long "
					"unacknowledged data may wait.",
				.kernel = "Timer kind 1: unacknowledged data is being retransmitted; "
					"kind 2: keepalive; kind 4: zero-window probes (the peer has no "
					"room because its application is not reading). rqueue is bytes "
					"received but not yet read, wqueue bytes sent but not yet "
					"acknowledged. inode 0 in ESTABLISHED means the connection is "
					"still waiting in a listener's accept queue, not yet accepted.",
			},
			[STATES_LANG_KO] = {
				.title = "ESTABLISHED: 연결됨",
				.meaning = "핸드셰이크가 끝나 양방향으로 데이터를 주고받을 수 있는 "
					"상태입니다. 연결이 평소 일하는 상태이며, 아직 종료 절차는 "
					"시작되지 않았습니다.",
				.enters_on = "클라이언트는 SYN_SENT에서 SYN-ACK를 받을 때, 서버는 "
					"SYN_RECV에서 마지막 ACK를 받을 때 이 상태가 됩니다.",
				.leaves_on = "애플리케이션이 close()나 shutdown(SHUT_WR)을 호출하면 FIN을 "
					"보내고 FIN_WAIT_1로 갑니다(능동 종료). 상대의 FIN을 받으면 "
					"CLOSE_WAIT로 갑니다(수동 종료). RST를 받거나, 재전송 또는 "
					"keepalive 한도를 넘기거나, 읽지 않은 데이터를 둔 채 close()하면 "
					"CLOSED가 됩니다.",
				.duration_bound = "제한 없음: 유휴 연결은 며칠이고 열려 있을 수 "
					"있습니다. 상대가 사라진 경우에만 감지되는데, 확인 응답을 못 받은 "
					"데이터가 있으면 재전송 한도(net.ipv4.tcp_retries2, 기본 약 15분, "
					"또는 TCP_USER_TIMEOUT)로, SO_KEEPALIVE가 켜져 있으면 keepalive "
					"프로브(기본값: 7200초 유휴 후 75초 간격으로 9번)로 감지됩니다.",
				.problem_when = "서비스에 필요한 것보다 훨씬 많다면 연결 누수(줄어들지 "
					"않는 커넥션 풀, 연결을 닫지 않는 클라이언트)나 연결을 오래 붙잡는 "
					"느린 백엔드를 의심하세요. 이미 사라진 호스트와의 연결은 감지될 "
					"때까지 메모리와 파일 디스크립터를 차지합니다. rqueue가 크면 "
					"애플리케이션이 데이터를 읽지 않는 것이고, wqueue가 크면 상대나 "
					"네트워크가 따라오지 못하는 것입니다.",
				.remedy = "커넥션 풀의 크기에 상한을 두고, 유휴 연결은 타임아웃 뒤에 "
					"닫으세요. 소켓별로 SO_KEEPALIVE와 TCP_KEEPIDLE, TCP_KEEPINTVL, "
					"TCP_KEEPCNT를 설정하면(또는 tcp_keepalive_* sysctl을 낮추면) 죽은 "
					"상대나 만료된 NAT·방화벽 항목을 몇 시간이 아니라 몇 분 안에 찾을 "
					"수 있습니다. 확인 응답 없는 데이터를 얼마나 기다릴지는 "
					"TCP_USER_TIMEOUT으로 제한하세요.",
				.kernel = "타이머 종류 1은 확인 응답 없는 데이터의 재전송, 2는 "
					"keepalive, 4는 제로 윈도 프로브(상대 애플리케이션이 읽지 않아 "
					"수신 공간이 없음)입니다. rqueue는 받았지만 아직 읽지 않은 바이트, "
					"wqueue는 보냈지만 아직 확인 응답을 받지 못한 바이트입니다. "
					"ESTABLISHED인데 inode가 0이면 아직 listen 소켓의 accept 큐에서 "
					"기다리는 연결입니다.",
			},
		},
	},
	[SOCK_FIN_WAIT1] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_orphans",
				  "net.ipv4.tcp_retries2"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory", "TCPAbortOnData"),
		.next = NAMES("FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Closing: FIN sent, waiting for its ACK",
				.meaning = "This side closed first (active close): it sent a FIN and "
					"waits for the peer to acknowledge it. Data still in the send "
					"buffer goes out ahead of the FIN.",
				.enters_on = "close() or shutdown(SHUT_WR) in ESTABLISHED (or in "
					"SYN_RECV).",
				.leaves_on = "The ACK of the FIN: FIN_WAIT_2. A FIN from the peer before "
					"that ACK (simultaneous close): CLOSING. The peer's FIN and ACK "
					"together: straight to TIME_WAIT. A retransmission or orphan "
					"limit, or an RST: CLOSED.",
				.duration_bound = "Retransmission limits. After close() the socket is an "
					"orphan and net.ipv4.tcp_orphan_retries applies (default 0, which "
					"the kernel treats as 8: about 100 s on a short path, longer on a "
					"slow one). While a process still holds it after "
					"shutdown(SHUT_WR), net.ipv4.tcp_retries2 (about 15 minutes) or "
					"TCP_USER_TIMEOUT applies. A peer that keeps advertising a zero "
					"window is probed instead, which can stretch the wait.",
				.problem_when = "It normally lasts about one round trip, so a steady "
					"crowd in FIN_WAIT_1 is abnormal: the peers are unreachable, or "
					"they stopped reading and the send buffer cannot drain (wqueue > 0, "
					"timer kind 4), or packets are lost. Orphans keep their send "
					"buffers; past tcp_max_orphans the kernel logs 'too many orphaned "
					"sockets' and resets them (TCPAbortOnMemory).",
				.remedy = "Find the peers (lingerd groups sockets by remote address) and "
					"why they do not acknowledge: dead hosts, firewalls that drop "
					"packets after an idle timeout, clients that do not read. Lowering "
					"tcp_orphan_retries (for example to 3) frees orphans sooner; "
					"tcp_max_orphans is the safety cap. For sockets the application "
					"still holds, TCP_USER_TIMEOUT bounds the wait.",
				.kernel = "inode 0: orphaned by close() and now owned by the kernel. "
					"inode set: the process used shutdown(SHUT_WR) and still holds the "
					"descriptor. Timer kind 1 retransmits the FIN or pending data; "
					"kind 4 probes a zero window. Orphans are counted in the 'orphan' "
					"field of /proc/net/sockstat.",
			},
			[STATES_LANG_KO] = {
				.title = "FIN_WAIT_1: FIN 전송, ACK 대기",
				.meaning = "이쪽이 먼저 연결을 닫았습니다(능동 종료). FIN을 보냈고 "
					"상대가 이를 확인(ACK)해 주기를 기다립니다. 송신 버퍼에 남은 "
					"데이터가 있으면 FIN보다 먼저 나갑니다.",
				.enters_on = "ESTABLISHED(또는 SYN_RECV)에서 close()나 "
					"shutdown(SHUT_WR)을 호출하면 이 상태가 됩니다.",
				.leaves_on = "FIN에 대한 ACK를 받으면 FIN_WAIT_2로 갑니다. 그 ACK보다 "
					"상대의 FIN이 먼저 오면(동시 종료) CLOSING으로, FIN과 ACK를 한꺼번에 "
					"받으면 곧바로 TIME_WAIT로 갑니다. 재전송이나 고아 소켓 한도에 "
					"걸리거나 RST를 받으면 CLOSED가 됩니다.",
				.duration_bound = "재전송 한도가 정합니다. close() 뒤에는 고아 "
					"소켓(orphan)이 되어 net.ipv4.tcp_orphan_retries가 적용됩니다"
					"(기본값 0은 커널이 8로 취급하며, 지연이 짧은 경로에서 약 100초, "
					"느린 경로에서는 더 깁니다). shutdown(SHUT_WR) 뒤에도 프로세스가 "
					"소켓을 쥐고 있으면 net.ipv4.tcp_retries2(약 15분)나 "
					"TCP_USER_TIMEOUT이 적용됩니다. 상대가 제로 윈도를 계속 알려 오면 "
					"재전송 대신 프로브를 보내게 되어 더 오래 걸릴 수 있습니다.",
				.problem_when = "보통은 왕복 한 번 정도면 지나가므로 FIN_WAIT_1이 "
					"꾸준히 많다면 비정상입니다. 상대에게 닿지 않거나, 상대가 읽기를 "
					"멈춰 송신 버퍼가 비워지지 않거나(wqueue > 0, 타이머 종류 4), "
					"패킷이 손실되고 있는 것입니다. 고아 소켓은 송신 버퍼를 그대로 "
					"쥐고 있으며, tcp_max_orphans를 넘으면 커널이 'too many orphaned "
					"sockets'를 기록하고 RST로 끊습니다(TCPAbortOnMemory).",
				.remedy = "어떤 상대인지(lingerd는 원격 주소별로 묶어 보여 줍니다), 왜 "
					"ACK를 보내지 않는지 찾으세요. 죽은 호스트, 유휴 시간이 지나면 "
					"패킷을 버리는 방화벽, 데이터를 읽지 않는 클라이언트가 흔한 "
					"원인입니다. tcp_orphan_retries를 낮추면(예: 3) 고아 소켓이 더 빨리 "
					"정리되고, tcp_max_orphans는 최후의 상한입니다. 애플리케이션이 "
					"아직 쥐고 있는 소켓은 TCP_USER_TIMEOUT으로 대기 시간을 "
					"제한하세요.",
				.kernel = "inode가 0이면 close()로 고아가 되어 커널이 맡고 있는 "
					"소켓입니다. inode가 있으면 프로세스가 shutdown(SHUT_WR)을 하고 "
					"디스크립터를 아직 쥐고 있는 것입니다. 타이머 종류 1은 FIN이나 "
					"남은 데이터의 재전송, 종류 4는 제로 윈도 프로브입니다. 고아 소켓 "
					"수는 /proc/net/sockstat의 'orphan' 필드로 볼 수 있습니다.",
			},
		},
	},
	[SOCK_FIN_WAIT2] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "orphan_only",
		.settings = NAMES("net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_max_tw_buckets"),
		.counters = NAMES("TCPAbortOnLinger", "TCPAbortOnData", "TCPTimeWaitOverflow"),
		.next = NAMES("TIME_WAIT", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Half-closed: waiting for the peer's FIN",
				.meaning = "This side's FIN has been acknowledged, so its sending "
					"direction is closed. It now waits for the peer to finish and send "
					"its own FIN. Meanwhile the peer may still send data, which this "
					"side can read if it still holds the socket.",
				.enters_on = "The ACK of our FIN arrives in FIN_WAIT_1.",
				.leaves_on = "The peer's FIN arrives: it is acknowledged and the socket "
					"enters TIME_WAIT. For an orphan, the tcp_fin_timeout timer "
					"expires: CLOSED. An RST: CLOSED.",
				.duration_bound = "Orphaned (after close()): net.ipv4.tcp_fin_timeout, "
					"default 60 s. Held by a process after shutdown(SHUT_WR): "
					"nothing; it lasts until the peer's FIN arrives or the process "
					"closes the socket, possibly forever.",
				.problem_when = "Many FIN_WAIT_2 towards one peer almost always means the "
					"peer is stuck in CLOSE_WAIT: its application got the end of file "
					"(or never read) and did not call close(). Sockets with an inode "
					"and no timer that keep getting older are a local "
					"shutdown(SHUT_WR) never followed by close().",
				.remedy = "Fix the peer application's close() handling; lingerd on that "
					"host shows the matching CLOSE_WAIT sockets. Locally, call close() "
					"once the reply after shutdown(SHUT_WR) has been read. Lowering "
					"tcp_fin_timeout (for example to 15-30 s) clears orphans sooner; it "
					"changes nothing for sockets a process still holds, and nothing "
					"for TIME_WAIT.",
				.kernel = "An orphan in FIN_WAIT_2 is normally turned into a lightweight "
					"timewait socket that keeps FIN_WAIT_2 as its substate: inode 0, "
					"timer kind 3, expires counting down from tcp_fin_timeout. It "
					"counts against tcp_max_tw_buckets, not tcp_max_orphans. If "
					"tcp_fin_timeout is above 60 s, a timer of kind 2 covers the excess "
					"first. With an inode and timer kind 0 the socket is held after "
					"shutdown(SHUT_WR) and has no deadline.",
			},
			[STATES_LANG_KO] = {
				.title = "FIN_WAIT_2: 반쯤 닫힘, 상대 FIN 대기",
				.meaning = "이쪽이 보낸 FIN이 확인되어 이쪽의 송신 방향은 닫혔습니다. "
					"이제 상대가 할 일을 마치고 FIN을 보내기를 기다립니다. 그동안 "
					"상대는 데이터를 계속 보낼 수 있으며, 이쪽이 소켓을 아직 쥐고 "
					"있다면 읽을 수 있습니다.",
				.enters_on = "FIN_WAIT_1에서 우리 FIN에 대한 ACK를 받으면 이 상태가 "
					"됩니다.",
				.leaves_on = "상대의 FIN이 오면 ACK로 답하고 TIME_WAIT로 갑니다. 고아 "
					"소켓이라면 tcp_fin_timeout 타이머가 끝날 때 CLOSED가 되고, RST를 "
					"받아도 CLOSED가 됩니다.",
				.duration_bound = "close()로 고아가 된 경우: net.ipv4.tcp_fin_timeout, "
					"기본 60초. shutdown(SHUT_WR) 뒤 프로세스가 쥐고 있는 경우: 제한 "
					"없음. 상대의 FIN이 오거나 프로세스가 소켓을 닫을 때까지, 어쩌면 "
					"영원히 남습니다.",
				.problem_when = "한 상대를 향한 FIN_WAIT_2가 많다면 거의 언제나 그 "
					"상대가 CLOSE_WAIT에 멈춰 있는 것입니다. 상대 애플리케이션이 "
					"EOF를 받고도(또는 아예 읽지 않아) close()를 호출하지 않은 "
					"것입니다. inode가 있고 타이머가 없는 채로 계속 나이를 먹는 "
					"소켓은 이쪽에서 shutdown(SHUT_WR)만 하고 close()하지 않은 "
					"것입니다.",
				.remedy = "상대 애플리케이션의 close() 처리를 고치세요. 그 호스트에서 "
					"lingerd를 보면 짝이 되는 CLOSE_WAIT 소켓이 보입니다. 이쪽에서는 "
					"shutdown(SHUT_WR) 뒤 응답을 다 읽었으면 close()하세요. "
					"tcp_fin_timeout을 낮추면(예: 15~30초) 고아 소켓이 더 빨리 "
					"정리되지만, 프로세스가 쥐고 있는 소켓에는 아무 효과가 없고 "
					"TIME_WAIT에도 영향을 주지 않습니다.",
				.kernel = "FIN_WAIT_2 상태의 고아 소켓은 보통 가벼운 timewait 소켓으로 "
					"바뀌되 하위 상태로 FIN_WAIT_2를 유지합니다. inode는 0, 타이머 "
					"종류는 3이고, expires는 tcp_fin_timeout부터 줄어듭니다. 이 소켓은 "
					"tcp_max_orphans가 아니라 tcp_max_tw_buckets에 포함됩니다. "
					"tcp_fin_timeout이 60초보다 크면 초과분 동안 먼저 종류 2 타이머가 "
					"돕니다. inode가 있고 타이머 종류가 0이면 shutdown(SHUT_WR) 뒤 "
					"쥐고 있는 소켓이며, 끝나는 시한이 없습니다.",
			},
		},
	},
	[SOCK_CLOSING] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_retries2",
				  "net.ipv4.tcp_max_orphans"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory"),
		.next = NAMES("TIME_WAIT", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Simultaneous close",
				.meaning = "Both ends sent a FIN at about the same time: this side got "
					"the peer's FIN before its own FIN was acknowledged, and now waits "
					"for that ACK. Each end of a simultaneous close is an active "
					"closer.",
				.enters_on = "A FIN arrives in FIN_WAIT_1 that does not acknowledge our "
					"FIN.",
				.leaves_on = "The ACK of our FIN: TIME_WAIT. A retransmission limit or "
					"an RST: CLOSED.",
				.duration_bound = "Retransmission limits, as in FIN_WAIT_1: "
					"net.ipv4.tcp_orphan_retries once the socket is closed, otherwise "
					"net.ipv4.tcp_retries2 or TCP_USER_TIMEOUT.",
				.problem_when = "Rare and short-lived. More than a handful, or any that "
					"stay, means our FIN or the peer's ACK of it is being lost: look "
					"for packet loss or a middlebox that drops segments once it has "
					"seen a FIN.",
				.remedy = "Investigate loss on the path (retransmission counters, "
					"firewall connection tracking that discards state at the first "
					"FIN). Usually no tuning is needed; tcp_orphan_retries bounds the "
					"orphans.",
				.kernel = "Usually an orphan (inode 0) with timer kind 1 retransmitting "
					"the FIN. Both ends of a simultaneous close pass through CLOSING, "
					"and both end in TIME_WAIT.",
			},
			[STATES_LANG_KO] = {
				.title = "CLOSING: 동시 종료",
				.meaning = "양쪽이 거의 동시에 FIN을 보낸 경우입니다. 이쪽 FIN이 확인되기 "
					"전에 상대의 FIN이 먼저 도착했고, 이제 우리 FIN에 대한 ACK를 "
					"기다립니다. 동시 종료에서는 양쪽 모두 능동 종료를 한 셈입니다.",
				.enters_on = "FIN_WAIT_1에서 우리 FIN을 확인하지 않은 상대의 FIN이 "
					"도착하면 이 상태가 됩니다.",
				.leaves_on = "우리 FIN에 대한 ACK가 오면 TIME_WAIT로 갑니다. 재전송 "
					"한도에 걸리거나 RST를 받으면 CLOSED가 됩니다.",
				.duration_bound = "FIN_WAIT_1과 같이 재전송 한도가 정합니다. 소켓이 "
					"닫힌 뒤에는 net.ipv4.tcp_orphan_retries, 그렇지 않으면 "
					"net.ipv4.tcp_retries2나 TCP_USER_TIMEOUT입니다.",
				.problem_when = "드물고 금방 지나가는 상태입니다. 몇 개를 넘거나 오래 "
					"남아 있는 것이 있다면 우리 FIN이나 그에 대한 상대의 ACK가 "
					"유실되고 있는 것입니다. 패킷 손실이나, FIN을 본 뒤 세그먼트를 "
					"버리는 중간 장비를 살펴보세요.",
				.remedy = "경로상의 손실을 조사하세요(재전송 카운터, 첫 FIN에서 연결 "
					"상태를 지워 버리는 방화벽의 연결 추적). 보통은 튜닝이 필요 "
					"없으며, 고아 소켓은 tcp_orphan_retries가 정리합니다.",
				.kernel = "대개 고아 소켓(inode 0)이며 타이머 종류 1로 FIN을 재전송합니다. "
					"동시 종료에서는 양쪽이 모두 CLOSING을 거쳐 TIME_WAIT로 "
					"끝납니다.",
			},
		},
	},
	[SOCK_TIME_WAIT] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.max_seconds = 60,
		.settings = NAMES("net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_reuse",
				  "net.ipv4.ip_local_port_range"),
		.counters = NAMES("TW", "TWKilled", "TWRecycled", "TCPTimeWaitOverflow",
				  "TCPAbortOnData"),
		.next = NAMES("CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Waiting out old segments (2MSL)",
				.meaning = "The connection is over: both FINs were sent and "
					"acknowledged. The side that closed first keeps a small record of "
					"it for a while, so that a lost final ACK can be sent again and "
					"stray segments of this connection cannot be mistaken for part of "
					"a new one with the same addresses and ports. This is normal, "
					"healthy TCP.",
				.enters_on = "The peer's FIN arrives in FIN_WAIT_2 (or together with the "
					"ACK in FIN_WAIT_1), or the ACK of our FIN arrives in CLOSING; the "
					"final ACK is sent.",
				.leaves_on = "The 60 s timer expires: CLOSED. A new outgoing connection "
					"can take over the same four-tuple earlier when tcp_tw_reuse "
					"allows it, and a new SYN from the same client can reopen it on a "
					"server. An RST received also ends it early (unless "
					"net.ipv4.tcp_rfc1337=1).",
				.duration_bound = "A fixed 60 s on Linux (TCP_TIMEWAIT_LEN, compiled into "
					"the kernel). The RFC's 2 x MSL would be 4 minutes; Linux uses "
					"60 s and no sysctl changes it. net.ipv4.tcp_fin_timeout is about "
					"FIN_WAIT_2, not TIME_WAIT.",
				.problem_when = "A large count is usually harmless: each entry is a small "
					"kernel structure without buffers or a file descriptor. It matters "
					"in two cases. On a client, the entries towards one destination "
					"ip:port approach the number of ephemeral ports (about 28,000 with "
					"the default range 32768-60999) and connect() fails with "
					"EADDRNOTAVAIL. Or the total reaches tcp_max_tw_buckets: "
					"TCPTimeWaitOverflow grows and new closes skip TIME_WAIT, losing "
					"its protection.",
				.remedy = "Reuse connections (HTTP keep-alive, connection pools) instead "
					"of opening one per request. For outgoing connections set "
					"net.ipv4.tcp_tw_reuse=1 (it needs TCP timestamps) and widen "
					"net.ipv4.ip_local_port_range; spread load over more source "
					"addresses or destination ports. Where the protocol allows, let the "
					"client close first so TIME_WAIT stays off busy servers. Do not "
					"look for tcp_tw_recycle: it broke clients behind NAT and was "
					"removed in Linux 4.12. SO_LINGER {1,0} avoids TIME_WAIT only by "
					"resetting connections, at the risk of losing data. Do not lower "
					"tcp_max_tw_buckets to hide the count.",
				.kernel = "TIME_WAIT entries are minisockets (struct "
					"inet_timewait_sock): no descriptor, no buffers, inode 0, timer "
					"kind 3. expires falls from 60000 ms, so the age is about 60 s "
					"minus expires. /proc/net/sockstat 'tw' gives the count cheaply. "
					"TW counts entries that expired normally, TWRecycled entries "
					"taken over by new outgoing connections (tcp_tw_reuse), "
					"TCPTimeWaitOverflow closes that found the table full; TWKilled "
					"(entries cut short) stays near zero since tcp_tw_recycle was "
					"removed. An orphan in FIN_WAIT_2 is also kept as a timewait "
					"socket but is dumped as FIN_WAIT_2.",
			},
			[STATES_LANG_KO] = {
				.title = "TIME_WAIT: 지연 세그먼트 소멸 대기(2MSL)",
				.meaning = "연결은 이미 끝났습니다. 양쪽 FIN이 모두 전송되고 확인되었습니다. "
					"먼저 닫은 쪽은 이 연결의 작은 기록을 한동안 남겨 두는데, 마지막 "
					"ACK가 유실되면 다시 보내 주고, 네트워크를 떠돌던 이 연결의 "
					"세그먼트가 같은 주소와 포트를 쓰는 새 연결의 일부로 오인되지 "
					"않게 하기 위해서입니다. 정상적이고 건강한 TCP의 동작입니다.",
				.enters_on = "FIN_WAIT_2에서 상대의 FIN을 받거나(FIN_WAIT_1에서 ACK와 "
					"함께 받아도 같음), CLOSING에서 우리 FIN에 대한 ACK를 받으면 마지막 "
					"ACK를 보내고 이 상태가 됩니다.",
				.leaves_on = "60초 타이머가 끝나면 CLOSED가 됩니다. tcp_tw_reuse가 "
					"허용하면 새 외부 연결이 같은 4-튜플을 더 일찍 넘겨받을 수 있고, "
					"서버에서는 같은 클라이언트의 새 SYN이 이를 다시 열 수도 있습니다. "
					"RST를 받아도 일찍 끝납니다(net.ipv4.tcp_rfc1337=1이 아닌 경우).",
				.duration_bound = "Linux에서는 60초로 고정되어 있습니다(TCP_TIMEWAIT_LEN, "
					"커널 소스에 고정된 상수). RFC의 2 x MSL대로라면 4분이지만 Linux는 "
					"60초를 쓰며, 이를 바꾸는 sysctl은 없습니다. "
					"net.ipv4.tcp_fin_timeout은 TIME_WAIT가 아니라 FIN_WAIT_2에 "
					"관한 값입니다.",
				.problem_when = "개수가 많아도 대개 해롭지 않습니다. 항목 하나하나가 "
					"버퍼도 파일 디스크립터도 없는 작은 커널 구조체이기 때문입니다. "
					"문제가 되는 경우는 두 가지입니다. 클라이언트에서 한 목적지 "
					"ip:port로 향한 항목이 임시 포트 수(기본 범위 32768-60999에서 약 "
					"28,000개)에 가까워져 connect()가 EADDRNOTAVAIL로 실패하는 경우, "
					"그리고 전체 개수가 tcp_max_tw_buckets에 닿아 TCPTimeWaitOverflow가 "
					"늘고 새로 닫히는 연결이 TIME_WAIT를 건너뛰어 그 보호를 잃는 "
					"경우입니다.",
				.remedy = "요청마다 연결을 새로 열지 말고 재사용하세요(HTTP keep-alive, "
					"커넥션 풀). 외부로 나가는 연결에는 net.ipv4.tcp_tw_reuse=1(TCP "
					"타임스탬프 필요)을 설정하고 net.ipv4.ip_local_port_range를 "
					"넓히세요. 출발지 주소나 목적지 포트를 늘려 부하를 나누는 것도 "
					"방법입니다. 프로토콜이 허용한다면 클라이언트가 먼저 닫게 해서 "
					"바쁜 서버에 TIME_WAIT가 쌓이지 않게 하세요. tcp_tw_recycle은 "
					"찾지 마세요. NAT 뒤의 클라이언트를 망가뜨려 Linux 4.12에서 "
					"제거되었습니다. SO_LINGER {1,0}은 연결을 RST로 끊어서 TIME_WAIT를 "
					"피할 뿐이며 데이터를 잃을 수 있습니다. 개수를 감추려고 "
					"tcp_max_tw_buckets를 낮추지 마세요.",
				.kernel = "TIME_WAIT 항목은 미니소켓(struct inet_timewait_sock)입니다. "
					"디스크립터도 버퍼도 없고, inode는 0, 타이머 종류는 3입니다. "
					"expires가 60000ms부터 줄어들므로 경과 시간은 대략 60초에서 "
					"expires를 뺀 값입니다. 개수는 /proc/net/sockstat의 'tw'로 적은 "
					"비용에 얻을 수 있습니다. TW는 정상 만료된 항목, TWRecycled는 "
					"tcp_tw_reuse로 새 외부 연결이 넘겨받은 항목, "
					"TCPTimeWaitOverflow는 테이블이 가득 차 TIME_WAIT 없이 닫힌 "
					"횟수입니다. TWKilled(일찍 끊긴 항목)는 tcp_tw_recycle이 제거된 "
					"뒤로 거의 0입니다. FIN_WAIT_2 상태의 고아 소켓도 timewait "
					"소켓으로 유지되지만 덤프에는 FIN_WAIT_2로 나옵니다.",
			},
		},
	},
	[SOCK_CLOSE_WAIT] = {
		.reached_by = ROLE_PASSIVE_CLOSER,
		.bounded = "no",
		.settings = no_names,
		.counters = NAMES("TCPAbortOnClose", "EstabResets"),
		.next = NAMES("LAST_ACK", "CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Peer closed; waiting for this application to close",
				.meaning = "The peer sent a FIN: it has nothing more to send, and the "
					"kernel has acknowledged it. A read() on this socket now returns "
					"0 (end of file). The connection stays here until the application "
					"that owns the socket calls close() or shutdown(SHUT_WR); TCP "
					"cannot move on by itself.",
				.enters_on = "A FIN arrives in ESTABLISHED (passive close).",
				.leaves_on = "The application calls close() or shutdown(SHUT_WR): the "
					"kernel sends its FIN and the socket enters LAST_ACK. An RST from "
					"the peer (for example after writing to a peer that has gone) "
					"moves it to CLOSED, but the descriptor stays open until close().",
				.duration_bound = "Nothing. No timer and no sysctl ends CLOSE_WAIT: it "
					"lasts until the application calls close(), which may be never. "
					"tcp_fin_timeout does not apply here.",
				.problem_when = "Any CLOSE_WAIT older than a few seconds, and any count "
					"that keeps growing, is an application bug: a code path that stops "
					"using a connection without closing it. Each one holds a file "
					"descriptor and kernel memory; the process eventually hits its "
					"descriptor limit (EMFILE) and can no longer accept or connect. "
					"rqueue > 0 means the application did not even read the data and "
					"the end of file.",
				.remedy = "Fix the application: read until read() returns 0, then "
					"close(); close on every error and timeout path (finally, defer, "
					"RAII); return connections to pools and let the pools evict "
					"connections whose peer has closed. Restarting the process frees "
					"the sockets but hides the bug, and no kernel setting helps. Use "
					"the inode to find the owning process (lingerd, ss -tanp, or "
					"/proc/PID/fd).",
				.kernel = "CLOSE_WAIT has an inode: the process still holds the "
					"descriptor, which is the leak itself (inode 0 only while the "
					"connection still waits in a listener's accept queue because the "
					"client closed before accept()). Usually no timer (kind 2 "
					"only with SO_KEEPALIVE). rqueue > 0: unread data waits in front "
					"of the end of file, and closing now makes the kernel send an RST "
					"instead of a FIN (TCPAbortOnClose). There is no cheap O(1) "
					"counter for CLOSE_WAIT; do not derive it from CurrEstab, which "
					"includes CLOSE_WAIT only on some kernels.",
			},
			[STATES_LANG_KO] = {
				.title = "CLOSE_WAIT: 상대가 닫음, 이쪽 애플리케이션의 close() 대기",
				.meaning = "상대가 FIN을 보냈습니다. 더 보낼 데이터가 없다는 뜻이며, "
					"커널은 이미 ACK로 답했습니다. 이 소켓에서 read()하면 이제 0"
					"(EOF)이 반환됩니다. 소켓을 가진 애플리케이션이 close()나 "
					"shutdown(SHUT_WR)을 호출할 때까지 연결은 여기에 머무르며, TCP가 "
					"스스로 다음 단계로 넘어갈 수는 없습니다.",
				.enters_on = "ESTABLISHED에서 상대의 FIN을 받으면 이 상태가 됩니다"
					"(수동 종료).",
				.leaves_on = "애플리케이션이 close()나 shutdown(SHUT_WR)을 호출하면 "
					"커널이 FIN을 보내고 LAST_ACK로 갑니다. 상대가 RST를 보내면(예: "
					"이미 사라진 상대에게 write한 경우) CLOSED가 되지만, 디스크립터는 "
					"close()할 때까지 열려 있습니다.",
				.duration_bound = "제한 없음. CLOSE_WAIT를 끝내는 타이머도 sysctl도 "
					"없습니다. 애플리케이션이 close()를 호출할 때까지 계속되며, 영영 "
					"호출하지 않을 수도 있습니다. tcp_fin_timeout은 여기에 적용되지 "
					"않습니다.",
				.problem_when = "몇 초 넘게 남아 있는 CLOSE_WAIT가 하나라도 있거나 "
					"개수가 계속 늘어난다면 애플리케이션 버그입니다. 연결을 더 쓰지 "
					"않으면서 닫지는 않는 코드 경로가 있는 것입니다. 이런 소켓마다 "
					"파일 디스크립터와 커널 메모리를 차지하므로, 결국 프로세스가 "
					"디스크립터 한도(EMFILE)에 걸려 더는 accept도 connect도 하지 못하게 "
					"됩니다. rqueue가 0보다 크면 애플리케이션이 데이터와 EOF조차 읽지 "
					"않은 것입니다.",
				.remedy = "애플리케이션을 고쳐야 합니다. read()가 0을 반환할 때까지 "
					"읽은 뒤 close()하고, 모든 오류와 타임아웃 경로에서 닫으세요"
					"(finally, defer, RAII). 커넥션 풀에는 연결을 반드시 돌려주고, 풀이 "
					"상대가 닫은 연결을 걸러 내게 하세요. 프로세스를 재시작하면 "
					"소켓은 풀리지만 버그를 가릴 뿐이며, 도움이 되는 커널 설정은 "
					"없습니다. inode로 소켓을 가진 프로세스를 찾으세요(lingerd, ss "
					"-tanp, /proc/PID/fd).",
				.kernel = "CLOSE_WAIT에는 inode가 있습니다. 프로세스가 아직 "
					"디스크립터를 쥐고 있다는 것이 곧 누수입니다(inode가 0이라면 "
					"클라이언트가 accept() 전에 닫아서 아직 listen 소켓의 accept 큐에 "
					"있는 연결입니다). 보통 타이머가 "
					"없습니다(SO_KEEPALIVE일 때만 종류 2). rqueue가 0보다 크면 EOF 앞에 "
					"읽지 않은 데이터가 남아 있으며, 이 상태로 닫으면 커널이 FIN 대신 "
					"RST를 보냅니다(TCPAbortOnClose). CLOSE_WAIT를 O(1)로 세는 "
					"카운터는 없습니다. CurrEstab는 일부 커널에서만 CLOSE_WAIT를 "
					"포함하므로 이 값으로 CLOSE_WAIT를 계산하지 마세요.",
			},
		},
	},
	[SOCK_LAST_ACK] = {
		.reached_by = ROLE_PASSIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_orphans",
				  "net.ipv4.tcp_retries2"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory"),
		.next = NAMES("CLOSED"),
		.text = {
			[STATES_LANG_EN] = {
				.title = "Closed after the peer; waiting for the last ACK",
				.meaning = "The passive side has closed too: after the peer's FIN, this "
					"application called close(), and the kernel sent its own FIN and "
					"waits for the peer to acknowledge it. When that ACK arrives the "
					"connection is gone; this side never enters TIME_WAIT.",
				.enters_on = "close() or shutdown(SHUT_WR) in CLOSE_WAIT.",
				.leaves_on = "The ACK of our FIN: CLOSED. A retransmission limit or an "
					"RST: CLOSED.",
				.duration_bound = "Retransmission limits: net.ipv4.tcp_orphan_retries "
					"after close() (the usual case); net.ipv4.tcp_retries2 or "
					"TCP_USER_TIMEOUT if the process still holds the socket after "
					"shutdown(SHUT_WR).",
				.problem_when = "It normally lasts one round trip. Many LAST_ACK that "
					"stay mean the final ACKs are not arriving: the peer is "
					"unreachable (host down, or a firewall or NAT that has forgotten "
					"the connection and now drops its packets). A burst right after "
					"many CLOSE_WAIT sockets are closed at once is expected and drains "
					"by itself.",
				.remedy = "Look at the path to those peers: firewall and NAT idle "
					"timeouts, full connection-tracking tables. Lowering "
					"tcp_orphan_retries shortens the wait; tcp_max_orphans caps the "
					"total. The application needs no fix: it has already closed.",
				.kernel = "Usually an orphan: inode 0 and timer kind 1 retransmitting the "
					"FIN. The process released the socket with close(); the kernel "
					"finishes the handshake on its behalf.",
			},
			[STATES_LANG_KO] = {
				.title = "LAST_ACK: 뒤따라 닫음, 마지막 ACK 대기",
				.meaning = "수동 종료하는 쪽도 닫았습니다. 상대의 FIN을 받은 뒤 이쪽 "
					"애플리케이션이 close()를 호출했고, 커널이 자신의 FIN을 보낸 뒤 "
					"상대의 확인을 기다립니다. 그 ACK가 오면 연결은 사라지며, 이쪽은 "
					"TIME_WAIT를 거치지 않습니다.",
				.enters_on = "CLOSE_WAIT에서 close()나 shutdown(SHUT_WR)을 호출하면 이 "
					"상태가 됩니다.",
				.leaves_on = "우리 FIN에 대한 ACK가 오면 CLOSED가 됩니다. 재전송 한도에 "
					"걸리거나 RST를 받아도 CLOSED가 됩니다.",
				.duration_bound = "재전송 한도가 정합니다. close() 뒤라면(대부분의 경우) "
					"net.ipv4.tcp_orphan_retries, shutdown(SHUT_WR) 뒤에도 프로세스가 "
					"소켓을 쥐고 있다면 net.ipv4.tcp_retries2나 TCP_USER_TIMEOUT입니다.",
				.problem_when = "보통은 왕복 한 번이면 끝납니다. LAST_ACK가 많이 남아 "
					"있다면 마지막 ACK가 오지 않는 것입니다. 상대에게 닿지 않는 "
					"경우(호스트 다운, 또는 연결을 잊어버린 방화벽이나 NAT가 패킷을 "
					"버리는 경우)입니다. 많은 CLOSE_WAIT 소켓을 한꺼번에 닫은 직후 "
					"잠깐 늘어나는 것은 정상이며 저절로 빠집니다.",
				.remedy = "그 상대들로 가는 경로를 살펴보세요. 방화벽과 NAT의 유휴 "
					"타임아웃, 가득 찬 연결 추적 테이블이 흔한 원인입니다. "
					"tcp_orphan_retries를 낮추면 대기 시간이 줄고, tcp_max_orphans가 "
					"전체 개수를 제한합니다. 애플리케이션은 이미 닫았으므로 고칠 "
					"것이 없습니다.",
				.kernel = "대개 고아 소켓입니다. inode는 0이고 타이머 종류 1로 FIN을 "
					"재전송합니다. 프로세스는 close()로 소켓을 놓았고, 커널이 대신 "
					"종료 절차를 마무리합니다.",
			},
		},
	},
};

/* State-machine order: the order a reader meets the states in, not the kernel's numbering. */
static const int state_order[] = {
	SOCK_CLOSE,     SOCK_LISTEN,    SOCK_SYN_SENT,   SOCK_SYN_RECV,
	SOCK_ESTABLISHED, SOCK_FIN_WAIT1, SOCK_FIN_WAIT2, SOCK_CLOSING,
	SOCK_TIME_WAIT, SOCK_CLOSE_WAIT, SOCK_LAST_ACK,
};

/*
 * One segment of a handshake.  active_state and passive_state are the states of the two
 * ends once the segment has arrived; "active" is the connector when opening and the
 * active closer when closing.
 */
struct hs_step {
	const char *from;
	const char *segment;
	const char *active_state;
	const char *passive_state;
	const char *text[LANG_COUNT];
};

static const struct hs_step open_steps[] = {
	{"connector", "SYN", "SYN_SENT", "SYN_RECV",
	 L("The client's connect() sends a SYN carrying its initial sequence number and the "
	   "socket enters SYN_SENT. When the SYN reaches the listener, the server's kernel "
	   "records a request in SYN_RECV; the listening socket itself stays in LISTEN.",
	   "클라이언트의 connect()가 자신의 초기 순서 번호를 담은 SYN을 보내고 SYN_SENT가 "
	   "됩니다. SYN이 listen 소켓에 닿으면 서버 커널은 SYN_RECV 상태의 요청을 "
	   "기록하며, listen 소켓 자신은 LISTEN에 그대로 남습니다.")},
	{"listener", "SYN+ACK", "ESTABLISHED", "SYN_RECV",
	 L("The server answers with a SYN-ACK: its own initial sequence number plus an "
	   "acknowledgement of the client's. On receiving it the client is ESTABLISHED and "
	   "connect() returns.",
	   "서버가 SYN-ACK로 답합니다. 자신의 초기 순서 번호와 함께 클라이언트의 번호를 "
	   "확인해 주는 것입니다. 이를 받은 클라이언트는 ESTABLISHED가 되고 connect()가 "
	   "반환됩니다.")},
	{"connector", "ACK", "ESTABLISHED", "ESTABLISHED",
	 L("The client's ACK completes the handshake. The server side becomes ESTABLISHED "
	   "and waits in the accept queue until the application calls accept(); if that "
	   "queue is full the ACK is dropped and counted in ListenOverflows.",
	   "클라이언트의 ACK로 핸드셰이크가 끝납니다. 서버 쪽 연결은 ESTABLISHED가 되어 "
	   "애플리케이션이 accept()할 때까지 accept 큐에서 기다립니다. 큐가 가득 차 있으면 "
	   "이 ACK는 버려지고 ListenOverflows에 집계됩니다.")},
};

static const struct hs_step close_steps[] = {
	{"active_closer", "FIN", "FIN_WAIT_1", "CLOSE_WAIT",
	 L("The active closer's application calls close() or shutdown(SHUT_WR). Its kernel "
	   "sends a FIN after any data still queued and enters FIN_WAIT_1. When the FIN "
	   "arrives the other side enters CLOSE_WAIT, and its application will read end of "
	   "file: read() returns 0.",
	   "먼저 닫는 쪽의 애플리케이션이 close()나 shutdown(SHUT_WR)을 호출합니다. 커널은 "
	   "남은 데이터를 보낸 뒤 FIN을 보내고 FIN_WAIT_1이 됩니다. FIN이 도착하면 상대는 "
	   "CLOSE_WAIT가 되고, 상대 애플리케이션은 EOF를 읽게 됩니다(read()가 0을 "
	   "반환).")},
	{"passive_closer", "ACK", "FIN_WAIT_2", "CLOSE_WAIT",
	 L("The passive side's kernel acknowledges the FIN at once, without waiting for its "
	   "application. The active closer enters FIN_WAIT_2: its direction is closed, while "
	   "the other direction can still carry data.",
	   "수동 종료하는 쪽의 커널은 애플리케이션을 기다리지 않고 바로 FIN에 ACK로 "
	   "답합니다. 먼저 닫은 쪽은 FIN_WAIT_2가 됩니다. 이쪽 방향은 닫혔지만 반대 방향으로는 "
	   "여전히 데이터가 오갈 수 있습니다.")},
	{"passive_closer", "FIN", "TIME_WAIT", "LAST_ACK",
	 L("The passive side's application finishes and calls close(); its kernel sends a "
	   "FIN and enters LAST_ACK. This step waits on the application: if it never calls "
	   "close(), the two ends stay in CLOSE_WAIT and FIN_WAIT_2. On receiving the FIN "
	   "the active closer answers with an ACK and enters TIME_WAIT.",
	   "수동 종료하는 쪽의 애플리케이션이 일을 마치고 close()를 호출하면, 커널이 FIN을 "
	   "보내고 LAST_ACK가 됩니다. 이 단계는 애플리케이션에 달려 있어서, close()를 "
	   "호출하지 않으면 양쪽은 CLOSE_WAIT와 FIN_WAIT_2에 그대로 머뭅니다. FIN을 받은 "
	   "먼저 닫은 쪽은 ACK로 답하고 TIME_WAIT가 됩니다.")},
	{"active_closer", "ACK", "TIME_WAIT", "CLOSED",
	 L("The final ACK reaches the passive side, which goes to CLOSED at once. The active "
	   "closer keeps the connection in TIME_WAIT for 60 s, ready to repeat this ACK if "
	   "it was lost, and then forgets it.",
	   "마지막 ACK가 도착하면 수동 종료한 쪽은 곧바로 CLOSED가 됩니다. 먼저 닫은 쪽은 "
	   "이 ACK가 유실되었을 때 다시 보낼 수 있도록 60초 동안 TIME_WAIT로 연결을 기억한 "
	   "뒤 잊습니다.")},
};

static const char *const four_way_title[LANG_COUNT] = L("Four-way close", "4-way 연결 종료");
static const char *const four_way_text[LANG_COUNT] = L(
	"TCP closes each direction on its own, so an orderly teardown takes four segments: "
	"each side sends a FIN when it has nothing more to send, and each FIN is "
	"acknowledged. The side whose application closes first is the active closer and ends "
	"in TIME_WAIT; the other side is the passive closer and passes through CLOSE_WAIT and "
	"LAST_ACK. When the passive side closes immediately, its ACK and FIN often travel in "
	"one segment and the active closer goes from FIN_WAIT_1 straight to TIME_WAIT. When "
	"both sides close at the same moment, both pass through CLOSING and both end in "
	"TIME_WAIT. Either side can skip all of this by aborting with an RST.",
	"TCP는 두 방향을 따로따로 닫기 때문에 정상 종료에는 세그먼트 네 개가 필요합니다. "
	"각 쪽은 더 보낼 것이 없을 때 FIN을 보내고, 각 FIN은 ACK로 확인됩니다. "
	"애플리케이션이 먼저 닫는 쪽이 능동 종료자로 TIME_WAIT에서 끝나고, 다른 쪽은 수동 "
	"종료자로 CLOSE_WAIT와 LAST_ACK를 거칩니다. 수동 종료 쪽이 바로 닫으면 ACK와 FIN이 "
	"한 세그먼트로 함께 가는 일이 많아, 먼저 닫은 쪽은 FIN_WAIT_1에서 곧장 TIME_WAIT로 "
	"갑니다. 양쪽이 동시에 닫으면 둘 다 CLOSING을 거쳐 TIME_WAIT로 끝납니다. 어느 쪽이든 "
	"RST로 연결을 중단하면 이 과정 전체를 건너뜁니다.");

static const char *const three_way_title[LANG_COUNT] =
	L("Three-way handshake", "3-way 핸드셰이크");
static const char *const three_way_text[LANG_COUNT] = L(
	"A connection opens with three segments that let each side announce its initial "
	"sequence number and confirm the other's. The connector (client) calls connect(); "
	"the listener (server) has a socket in LISTEN that stays there and spawns a new "
	"socket for every connection. A connection whose handshake is complete waits in the "
	"listener's accept queue until the server application calls accept().",
	"연결은 세그먼트 세 개로 열립니다. 이를 통해 양쪽이 각자의 초기 순서 번호를 알리고 "
	"상대의 번호를 확인합니다. 연결하는 쪽(클라이언트)은 connect()를 호출하고, 받는 "
	"쪽(서버)에는 LISTEN 상태의 소켓이 있어 그 상태를 유지한 채 연결마다 새 소켓을 "
	"만듭니다. 핸드셰이크가 끝난 연결은 서버 애플리케이션이 accept()할 때까지 listen "
	"소켓의 accept 큐에서 기다립니다.");

static const char *const two_msl_title[LANG_COUNT] = L("TIME_WAIT and 2MSL", "TIME_WAIT와 2MSL");
static const char *const two_msl_text[LANG_COUNT] = L(
	"MSL (maximum segment lifetime) is the longest a segment is assumed to survive in "
	"the network. The side that closes first stays in TIME_WAIT for twice that, so that "
	"whatever is left of the old connection has died out before the same addresses and "
	"ports can carry a new one. RFC 793 suggested an MSL of 2 minutes, which makes 4 "
	"minutes of TIME_WAIT; Linux fixes TIME_WAIT at 60 s (TCP_TIMEWAIT_LEN) and no "
	"sysctl changes it. TIME_WAIT is a safety feature: removing it trades rare, silent "
	"data corruption for a smaller table.",
	"MSL(maximum segment lifetime)은 세그먼트가 네트워크에서 살아남을 수 있다고 보는 "
	"최대 시간입니다. 먼저 닫은 쪽은 그 두 배 동안 TIME_WAIT에 머물러, 같은 주소와 "
	"포트로 새 연결이 만들어지기 전에 옛 연결의 잔여 세그먼트가 모두 사라지게 합니다. "
	"RFC 793은 MSL을 2분으로 제안했으므로 TIME_WAIT는 4분이 되지만, Linux는 "
	"TIME_WAIT를 60초(TCP_TIMEWAIT_LEN)로 고정했고 이를 바꾸는 sysctl은 없습니다. "
	"TIME_WAIT는 안전장치입니다. 이를 없애면 테이블은 작아지지만 드물게 조용한 데이터 "
	"오염이 생길 수 있습니다.");
static const char *const two_msl_reasons[][LANG_COUNT] = {
	L("If the final ACK is lost, the peer retransmits its FIN. The TIME_WAIT side still "
	  "knows the connection and answers with the ACK again, instead of an RST that would "
	  "turn an orderly close into an error on the peer.",
	  "마지막 ACK가 유실되면 상대는 FIN을 다시 보냅니다. TIME_WAIT 쪽은 연결을 아직 "
	  "기억하므로 ACK를 다시 보내 줄 수 있습니다. 그렇지 않으면 RST로 답하게 되어 상대 "
	  "쪽에서는 정상 종료가 오류로 바뀝니다."),
	L("Delayed duplicates from the old connection cannot be accepted as data of a new "
	  "connection that reuses the same four-tuple (source and destination address and "
	  "port).",
	  "옛 연결에서 늦게 도착한 중복 세그먼트가 같은 4-튜플(출발지와 목적지의 주소와 "
	  "포트)을 다시 쓰는 새 연결의 데이터로 받아들여지지 않습니다."),
};

/* The three SO_LINGER settings; "setting" and "sends" are untranslated codes. */
struct linger_case {
	const char *setting;
	const char *sends;
	bool time_wait;
	const char *const *counters;
	const char *title[LANG_COUNT];
	const char *close_call[LANG_COUNT];
	const char *unsent_data[LANG_COUNT];
	const char *advice[LANG_COUNT];
};

static const struct linger_case linger_cases[] = {
	{
		.setting = "l_onoff=0",
		.sends = "FIN",
		.time_wait = true,
		.counters = NAMES("TCPAbortOnTimeout"),
		.title = L("Default: orderly close in the background",
			   "기본값: 백그라운드에서 정상 종료"),
		.close_call = L("close() returns immediately. The kernel keeps the orphaned "
				"socket, sends the remaining data followed by a FIN and completes "
				"the four-way close on its own.",
				"close()는 즉시 반환됩니다. 커널이 고아 소켓을 맡아 남은 데이터와 "
				"FIN을 보내고 4-way 종료를 스스로 마칩니다."),
		.unsent_data = L("Delivered if the peer is reachable; given up after the orphan "
				 "retransmission limit (tcp_orphan_retries).",
				 "상대에게 닿으면 전달됩니다. 닿지 않으면 고아 소켓 재전송 "
				 "한도(tcp_orphan_retries) 뒤에 포기합니다."),
		.advice = L("The right choice almost always. To know that the peer received "
			    "everything, call shutdown(SHUT_WR) and read until end of file before "
			    "close(), rather than relying on SO_LINGER.",
			    "거의 언제나 올바른 선택입니다. 상대가 모두 받았는지 확인하려면 "
			    "SO_LINGER에 기대지 말고, shutdown(SHUT_WR) 뒤 EOF까지 읽은 다음 "
			    "close()하세요."),
	},
	{
		.setting = "l_onoff=1, l_linger>0",
		.sends = "FIN",
		.time_wait = true,
		.counters = NAMES("TCPAbortOnTimeout"),
		.title = L("Linger: close() waits up to l_linger seconds",
			   "지연 종료: close()가 최대 l_linger초 동안 기다림"),
		.close_call = L("close() blocks until the remaining data and the FIN are "
				"acknowledged or l_linger seconds pass, even on a non-blocking "
				"socket. If the time runs out, close() returns and the kernel "
				"carries on in the background: Linux does not send an RST at that "
				"point, unlike what many older texts describe.",
				"close()는 남은 데이터와 FIN이 확인되거나 l_linger초가 지날 때까지 "
				"블록되며, 논블로킹 소켓이어도 마찬가지입니다. 시간이 다 되면 "
				"close()는 반환되고 커널이 백그라운드에서 종료를 이어 갑니다. 오래된 "
				"자료들의 설명과 달리 Linux는 이때 RST를 보내지 않습니다."),
		.unsent_data = L("As with the default: still sent after close() returns. The "
				 "wait only delays the caller; it does not tell it whether "
				 "delivery succeeded.",
				 "기본값과 같이 close()가 반환된 뒤에도 계속 전송됩니다. 기다림은 "
				 "호출한 쪽을 늦출 뿐, 전달에 성공했는지 알려 주지 않습니다."),
		.advice = L("Rarely useful on Linux, and it can stall a thread or an event loop "
			    "for up to l_linger seconds per socket. Prefer shutdown(SHUT_WR), read "
			    "until end of file, then close().",
			    "Linux에서는 쓸모가 거의 없으며, 소켓마다 최대 l_linger초씩 스레드나 "
			    "이벤트 루프를 멈춰 세울 수 있습니다. shutdown(SHUT_WR) 뒤 EOF까지 "
			    "읽고 close()하는 방식을 쓰세요."),
	},
	{
		.setting = "l_onoff=1, l_linger=0",
		.sends = "RST",
		.time_wait = false,
		.counters = NAMES("TCPAbortOnData", "OutRsts"),
		.title = L("Abortive close: RST, no TIME_WAIT", "강제 종료: RST, TIME_WAIT 없음"),
		.close_call = L("close() discards the send and receive queues and sends an RST "
				"instead of a FIN. The socket goes straight to CLOSED: no FIN_WAIT "
				"states and no TIME_WAIT. The kernel counts it in TCPAbortOnData.",
				"close()가 송신 큐와 수신 큐를 버리고 FIN 대신 RST를 보냅니다. "
				"소켓은 곧바로 CLOSED가 되어 FIN_WAIT 상태도 TIME_WAIT도 거치지 "
				"않습니다. 커널은 이를 TCPAbortOnData에 집계합니다."),
		.unsent_data = L("Lost. The peer gets ECONNRESET on its next read or write and "
				 "may be missing data it was owed.",
				 "사라집니다. 상대는 다음 read나 write에서 ECONNRESET을 받으며, "
				 "받아야 할 데이터를 못 받았을 수 있습니다."),
		.advice = L("Meant for aborting a connection that is broken, abusive or already "
			    "failed. As a cure for TIME_WAIT it costs data integrity and the "
			    "protection of 2MSL; prefer connection reuse and tcp_tw_reuse.",
			    "이미 망가졌거나, 악의적이거나, 실패한 연결을 끊을 때 쓰는 "
			    "방법입니다. TIME_WAIT 대책으로 쓰면 데이터 무결성과 2MSL의 보호를 "
			    "잃습니다. 연결 재사용과 tcp_tw_reuse를 먼저 쓰세요."),
	},
};

static const char *const linger_title[LANG_COUNT] =
	L("SO_LINGER: what close() does with unsent data",
	  "SO_LINGER: close()가 보내지 못한 데이터를 다루는 방식");
static const char *const linger_text[LANG_COUNT] = L(
	"SO_LINGER (struct linger {l_onoff, l_linger}, set with setsockopt() at SOL_SOCKET) "
	"decides whether close() returns at once, waits, or aborts the connection. "
	"Separately from SO_LINGER, close() on a socket that still has unread received data "
	"always sends an RST instead of a FIN (counted in TCPAbortOnClose): read until end of "
	"file before closing.",
	"SO_LINGER(struct linger {l_onoff, l_linger}, SOL_SOCKET 수준에서 setsockopt()로 "
	"설정)는 close()가 바로 반환할지, 기다릴지, 연결을 강제로 끊을지를 정합니다. "
	"SO_LINGER와 별개로, 받고도 읽지 않은 데이터가 남은 소켓을 close()하면 언제나 FIN "
	"대신 RST가 나갑니다(TCPAbortOnClose에 집계). 닫기 전에 EOF까지 읽으세요.");

static const char *const reuseaddr_title[LANG_COUNT] =
	L("SO_REUSEADDR: restarting a server while TIME_WAIT holds its port",
	  "SO_REUSEADDR: TIME_WAIT가 포트를 잡고 있을 때 서버 재시작");
static const char *const reuseaddr_text[LANG_COUNT] = L(
	"When a server stops, the connections it closed first stay in TIME_WAIT for 60 s, "
	"each still carrying the server's port as its local port. Without SO_REUSEADDR, "
	"bind() on that port fails with EADDRINUSE ('Address already in use') until they "
	"expire. With SO_REUSEADDR set on the listening socket before bind(), Linux allows "
	"the bind as long as no other socket is listening on the same address and port. "
	"Connections accepted from a listener inherit the option, so a server that always "
	"sets it can always restart at once.",
	"서버가 멈추면 서버가 먼저 닫은 연결들이 60초 동안 TIME_WAIT로 남고, 이들은 모두 "
	"서버 포트를 로컬 포트로 쥐고 있습니다. SO_REUSEADDR가 없으면 이들이 만료될 때까지 "
	"그 포트에 대한 bind()가 EADDRINUSE('Address already in use')로 실패합니다. "
	"bind() 전에 listen 소켓에 SO_REUSEADDR를 설정하면, 같은 주소와 포트에서 listen "
	"중인 다른 소켓이 없는 한 Linux는 bind를 허용합니다. listen 소켓에서 accept된 "
	"연결은 이 옵션을 물려받으므로, 항상 이 옵션을 설정하는 서버는 언제든 바로 재시작할 "
	"수 있습니다.");
static const char *const reuseaddr_does[][LANG_COUNT] = {
	L("Lets a restarted server bind its port while TIME_WAIT entries (or other leftover "
	  "connections) from the previous run still hold it.",
	  "이전 실행에서 남은 TIME_WAIT 항목(이나 다른 잔여 연결)이 포트를 잡고 있어도 "
	  "재시작한 서버가 그 포트에 bind할 수 있게 합니다."),
};
static const char *const reuseaddr_does_not[][LANG_COUNT] = {
	L("It does not let two servers listen on the same port at once; that is "
	  "SO_REUSEPORT, a different option.",
	  "두 서버가 같은 포트에서 동시에 listen하게 해 주지는 않습니다. 그것은 다른 옵션인 "
	  "SO_REUSEPORT의 역할입니다."),
	L("It does not shorten TIME_WAIT or reduce the number of TIME_WAIT entries.",
	  "TIME_WAIT를 줄이거나 TIME_WAIT 항목 수를 줄여 주지 않습니다."),
	L("It does not help a client that runs out of ephemeral ports (EADDRNOTAVAIL); for "
	  "that see tcp_tw_reuse and ip_local_port_range.",
	  "임시 포트가 바닥난 클라이언트(EADDRNOTAVAIL)에는 도움이 되지 않습니다. 그 "
	  "경우에는 tcp_tw_reuse와 ip_local_port_range를 보세요."),
};
static const char reuseaddr_snippet[] =
	"int on = 1;\n"
	"setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));\n"
	"bind(fd, addr, addrlen);\n"
	"listen(fd, backlog);";

static const char *const ports_title[LANG_COUNT] =
	L("Ephemeral ports and EADDRNOTAVAIL", "임시 포트와 EADDRNOTAVAIL");
static const char *const ports_text[LANG_COUNT] = L(
	"An outgoing connection takes its local port from net.ipv4.ip_local_port_range "
	"(default 32768-60999, 28,232 ports). Linux only needs the whole four-tuple to be "
	"unique, so the limit applies per (source IP, destination IP, destination port): a "
	"client can hold about 28,000 connections to each server ip:port, TIME_WAIT entries "
	"included. When they are used up, connect() fails with EADDRNOTAVAIL ('Cannot assign "
	"requested address'). Calling bind() before connect() makes the port exclusive on "
	"the host and uses the range up much sooner; set IP_BIND_ADDRESS_NO_PORT when a "
	"source address must be chosen. Remedies: reuse connections, tcp_tw_reuse=1, a wider "
	"port range, more source addresses or destination ports.",
	"외부로 나가는 연결은 net.ipv4.ip_local_port_range(기본 32768-60999, 28,232개)에서 "
	"로컬 포트를 받습니다. Linux는 4-튜플 전체만 겹치지 않으면 되므로, 한도는 (출발지 "
	"IP, 목적지 IP, 목적지 포트) 조합마다 따로 적용됩니다. 즉 클라이언트는 서버의 "
	"ip:port 하나당 TIME_WAIT를 포함해 약 28,000개의 연결을 가질 수 있습니다. 이를 다 "
	"쓰면 connect()가 EADDRNOTAVAIL('Cannot assign requested address')로 실패합니다. "
	"connect() 전에 bind()를 호출하면 그 포트를 호스트 전체에서 독점하게 되어 범위가 "
	"훨씬 빨리 바닥나므로, 출발지 주소를 골라야 한다면 IP_BIND_ADDRESS_NO_PORT를 "
	"설정하세요. 해법은 연결 재사용, tcp_tw_reuse=1, 더 넓은 포트 범위, 출발지 주소나 "
	"목적지 포트 추가입니다.");

/* The sysctls the states refer to; defaults are those of current kernels. */
struct sysctl_info {
	const char *name;
	const char *const *affects;
	const char *default_value[LANG_COUNT];
	const char *what[LANG_COUNT];
	const char *advice[LANG_COUNT];
};

static const struct sysctl_info sysctls[] = {
	{
		.name = "net.ipv4.tcp_fin_timeout",
		.affects = NAMES("FIN_WAIT_2"),
		.default_value = L("60", "60"),
		.what = L("Seconds an orphaned socket (closed by its application) waits in "
			  "FIN_WAIT_2 for the peer's FIN. It does not affect TIME_WAIT, nor "
			  "FIN_WAIT_2 sockets a process still holds.",
			  "고아 소켓(애플리케이션이 닫은 소켓)이 FIN_WAIT_2에서 상대의 FIN을 "
			  "기다리는 시간(초)입니다. TIME_WAIT에도, 프로세스가 아직 쥐고 있는 "
			  "FIN_WAIT_2 소켓에도 영향을 주지 않습니다."),
		.advice = L("Lowering it to 15-30 s is safe when orphaned FIN_WAIT_2 pile up "
			    "because peers never close; the real fix is the peer's CLOSE_WAIT "
			    "leak.",
			    "상대가 닫지 않아 고아 FIN_WAIT_2가 쌓인다면 15~30초로 낮춰도 "
			    "안전합니다. 근본 해결은 상대의 CLOSE_WAIT 누수를 고치는 것입니다."),
	},
	{
		.name = "net.ipv4.tcp_max_tw_buckets",
		.affects = NAMES("TIME_WAIT", "FIN_WAIT_2"),
		.default_value = L("scales with RAM", "메모리 크기에 비례"),
		.what = L("Maximum number of timewait sockets (TIME_WAIT and orphaned "
			  "FIN_WAIT_2) in a network namespace. Beyond it a closing connection "
			  "skips TIME_WAIT, TCPTimeWaitOverflow grows and the kernel logs 'time "
			  "wait bucket table overflow'.",
			  "네트워크 네임스페이스 하나에서 유지하는 timewait 소켓(TIME_WAIT와 고아 "
			  "FIN_WAIT_2)의 최대 개수입니다. 이를 넘으면 닫히는 연결이 TIME_WAIT를 "
			  "건너뛰고, TCPTimeWaitOverflow가 늘며, 커널이 'time wait bucket table "
			  "overflow'를 기록합니다."),
		.advice = L("Raise it if TCPTimeWaitOverflow grows and memory allows (each "
			    "entry is small). Never lower it to make TIME_WAIT go away.",
			    "TCPTimeWaitOverflow가 늘고 메모리에 여유가 있으면 올리세요(항목 "
			    "하나는 작습니다). TIME_WAIT를 없애려고 낮추지는 마세요."),
	},
	{
		.name = "net.ipv4.tcp_tw_reuse",
		.affects = NAMES("TIME_WAIT", "SYN_SENT"),
		.default_value = L("2", "2"),
		.what = L("Lets connect() take over a four-tuple still in TIME_WAIT when TCP "
			  "timestamps make it safe (the old entry's last timestamp is at least "
			  "about 1 s old). 0 off, 1 on, 2 loopback only (the default on recent "
			  "kernels). It applies to outgoing connections only.",
			  "TCP 타임스탬프로 안전이 보장될 때(옛 항목의 마지막 타임스탬프가 약 "
			  "1초 이상 지났을 때) connect()가 아직 TIME_WAIT인 4-튜플을 넘겨받게 "
			  "합니다. 0은 끔, 1은 켬, 2는 루프백에서만(최근 커널의 기본값)입니다. "
			  "외부로 나가는 연결에만 적용됩니다."),
		.advice = L("Set 1 on hosts that open many short outgoing connections to the "
			    "same destination and hit EADDRNOTAVAIL; it does nothing for a server's "
			    "incoming connections. Its old companion tcp_tw_recycle broke clients "
			    "behind NAT and was removed in Linux 4.12.",
			    "같은 목적지로 짧은 연결을 많이 열다가 EADDRNOTAVAIL을 겪는 호스트에서는 "
			    "1로 설정하세요. 서버로 들어오는 연결에는 효과가 없습니다. 예전에 함께 "
			    "쓰이던 tcp_tw_recycle은 NAT 뒤의 클라이언트를 망가뜨려 Linux 4.12에서 "
			    "제거되었습니다."),
	},
	{
		.name = "net.ipv4.ip_local_port_range",
		.affects = NAMES("SYN_SENT", "TIME_WAIT"),
		.default_value = L("32768 60999", "32768 60999"),
		.what = L("Range of ephemeral ports for outgoing connections: 28,232 ports by "
			  "default, available per (source IP, destination IP, destination port).",
			  "외부로 나가는 연결에 쓰는 임시 포트 범위입니다. 기본 28,232개이며 "
			  "(출발지 IP, 목적지 IP, 목적지 포트) 조합마다 따로 쓸 수 있습니다."),
		.advice = L("Widen it (for example to 10000 65000) on busy clients, and list the "
			    "ports your own services listen on in "
			    "net.ipv4.ip_local_reserved_ports.",
			    "바쁜 클라이언트에서는 범위를 넓히고(예: 10000 65000), 이 호스트의 "
			    "서비스가 listen하는 포트는 net.ipv4.ip_local_reserved_ports에 "
			    "등록하세요."),
	},
	{
		.name = "net.ipv4.tcp_max_orphans",
		.affects = NAMES("FIN_WAIT_1", "CLOSING", "LAST_ACK"),
		.default_value = L("scales with RAM", "메모리 크기에 비례"),
		.what = L("Maximum number of orphaned sockets (closed by the application, still "
			  "finishing in the kernel). Beyond it orphans are reset at once, the "
			  "kernel logs 'too many orphaned sockets' and TCPAbortOnMemory grows.",
			  "고아 소켓(애플리케이션은 닫았지만 커널이 아직 종료를 마무리하는 소켓)의 "
			  "최대 개수입니다. 이를 넘으면 고아 소켓이 즉시 RST로 끊기고, 커널이 'too "
			  "many orphaned sockets'를 기록하며, TCPAbortOnMemory가 늘어납니다."),
		.advice = L("A safety cap, not a tuning knob: if it is reached, find out why "
			    "closes do not complete (unreachable peers, zero windows) before "
			    "raising it. Each orphan can hold a full send buffer.",
			    "조정용 값이 아니라 안전 상한입니다. 한도에 닿았다면 올리기 전에 종료가 "
			    "왜 끝나지 않는지(닿지 않는 상대, 제로 윈도) 찾으세요. 고아 소켓 "
			    "하나가 송신 버퍼 전체를 쥐고 있을 수 있습니다."),
	},
	{
		.name = "net.ipv4.tcp_orphan_retries",
		.affects = NAMES("FIN_WAIT_1", "CLOSING", "LAST_ACK"),
		.default_value = L("0 (treated as 8)", "0 (8로 취급)"),
		.what = L("How many times an orphaned socket retransmits (its FIN or remaining "
			  "data) before the kernel gives up on it. It bounds FIN_WAIT_1, CLOSING "
			  "and LAST_ACK after close().",
			  "고아 소켓이 FIN이나 남은 데이터를 몇 번 재전송한 뒤 커널이 포기할지 "
			  "정합니다. close() 뒤의 FIN_WAIT_1, CLOSING, LAST_ACK 지속 시간을 "
			  "제한합니다."),
		.advice = L("Lower it (for example to 3) on servers with many orphans towards "
			    "unreachable or non-reading peers; too low a value cuts off slow but "
			    "healthy peers.",
			    "닿지 않거나 읽지 않는 상대를 향한 고아 소켓이 많은 서버에서는 낮추세요"
			    "(예: 3). 너무 낮추면 느리지만 정상인 상대까지 끊깁니다."),
	},
	{
		.name = "net.core.somaxconn",
		.affects = NAMES("LISTEN", "SYN_RECV"),
		.default_value = L("4096 (128 before Linux 5.4)", "4096 (Linux 5.4 이전은 128)"),
		.what = L("Upper limit for the listen() backlog, the length of a listener's "
			  "accept queue.",
			  "listen() 백로그, 즉 listen 소켓의 accept 큐 길이의 상한입니다."),
		.advice = L("Raise it together with the application's listen() backlog when "
			    "ListenOverflows grows; a queue that stays full usually means the "
			    "application accepts too slowly.",
			    "ListenOverflows가 늘면 애플리케이션의 listen() 백로그와 함께 올리세요. "
			    "큐가 계속 가득 차 있다면 대개 애플리케이션의 accept가 너무 느린 "
			    "것입니다."),
	},
	{
		.name = "net.ipv4.tcp_max_syn_backlog",
		.affects = NAMES("SYN_RECV", "LISTEN"),
		.default_value = L("scales with RAM (at least 128)", "메모리 크기에 비례(최소 128)"),
		.what = L("Limit on half-open handshakes (SYN_RECV requests) kept per listener; "
			  "it matters most when syncookies are off. The SYN queue is also bounded "
			  "by the listen() backlog.",
			  "listen 소켓마다 유지하는 반쯤 열린 핸드셰이크(SYN_RECV 요청)의 "
			  "한도이며, syncookie를 끈 경우에 가장 중요합니다. SYN 큐는 listen() "
			  "백로그에도 묶여 있습니다."),
		.advice = L("Raise it for servers with bursts of new connections; keep "
			    "tcp_syncookies=1 as the backstop.",
			    "새 연결이 한꺼번에 몰리는 서버에서는 올리고, 최후의 방어로 "
			    "tcp_syncookies=1을 유지하세요."),
	},
	{
		.name = "net.ipv4.tcp_syncookies",
		.affects = NAMES("SYN_RECV", "LISTEN"),
		.default_value = L("1", "1"),
		.what = L("When a listener's SYN queue overflows, answer SYNs with a cookie "
			  "encoded in the SYN-ACK instead of keeping state (SyncookiesSent).",
			  "listen 소켓의 SYN 큐가 넘치면 상태를 저장하지 않고 SYN-ACK에 쿠키를 "
			  "담아 SYN에 답합니다(SyncookiesSent)."),
		.advice = L("Keep it at 1. A growing SyncookiesSent is a sign of a SYN flood "
			    "or of a backlog that is too small.",
			    "1로 유지하세요. SyncookiesSent가 늘어나면 SYN 폭주 공격이거나 "
			    "백로그가 너무 작은 것입니다."),
	},
	{
		.name = "net.ipv4.tcp_abort_on_overflow",
		.affects = NAMES("LISTEN"),
		.default_value = L("0", "0"),
		.what = L("What a listener does with a completed handshake when its accept "
			  "queue is full: 0 drops the final ACK so the client retries, 1 resets "
			  "the connection.",
			  "accept 큐가 가득 찼을 때 끝난 핸드셰이크를 어떻게 할지 정합니다. 0이면 "
			  "마지막 ACK를 버려 클라이언트가 재시도하게 하고, 1이면 연결을 RST로 "
			  "끊습니다."),
		.advice = L("Leave it at 0 unless clients must fail fast; a full queue is the "
			    "problem to fix.",
			    "클라이언트가 빨리 실패해야 하는 경우가 아니면 0으로 두세요. 고칠 것은 "
			    "가득 찬 큐입니다."),
	},
	{
		.name = "net.ipv4.tcp_syn_retries",
		.affects = NAMES("SYN_SENT"),
		.default_value = L("6", "6"),
		.what = L("SYN retransmissions before connect() fails with ETIMEDOUT: about "
			  "130 s with the default of 6.",
			  "connect()가 ETIMEDOUT으로 실패하기 전까지 SYN을 재전송하는 횟수입니다. "
			  "기본값 6이면 약 130초입니다."),
		.advice = L("Prefer a connect timeout in the application or TCP_SYNCNT per "
			    "socket; lower the sysctl (for example to 3, about 15 s) only if every "
			    "program on the host should give up sooner.",
			    "애플리케이션의 연결 타임아웃이나 소켓별 TCP_SYNCNT를 먼저 쓰세요. "
			    "호스트의 모든 프로그램이 더 빨리 포기해야 할 때만 sysctl을 낮추세요"
			    "(예: 3이면 약 15초)."),
	},
	{
		.name = "net.ipv4.tcp_synack_retries",
		.affects = NAMES("SYN_RECV"),
		.default_value = L("5", "5"),
		.what = L("SYN-ACK retransmissions before a half-open request is dropped: "
			  "about 63 s with the default of 5.",
			  "반쯤 열린 요청을 버리기 전까지 SYN-ACK를 재전송하는 횟수입니다. "
			  "기본값 5이면 약 63초입니다."),
		.advice = L("Lower it to 2 or 3 under SYN floods or when many clients vanish "
			    "mid-handshake.",
			    "SYN 폭주 공격을 받거나 핸드셰이크 도중에 사라지는 클라이언트가 많으면 "
			    "2~3으로 낮추세요."),
	},
	{
		.name = "net.ipv4.tcp_keepalive_time",
		.affects = NAMES("ESTABLISHED"),
		.default_value = L("7200", "7200"),
		.what = L("Seconds of idleness before the first keepalive probe, on sockets "
			  "that enabled SO_KEEPALIVE.",
			  "SO_KEEPALIVE를 켠 소켓에서 첫 keepalive 프로브를 보내기 전까지의 유휴 "
			  "시간(초)입니다."),
		.advice = L("Two hours outlives most NAT and firewall idle timeouts. Set "
			    "TCP_KEEPIDLE per socket, or lower this (for example to 300-600) so "
			    "dead peers are found in minutes.",
			    "2시간은 대부분의 NAT·방화벽 유휴 타임아웃보다 깁니다. 소켓별로 "
			    "TCP_KEEPIDLE을 설정하거나 이 값을 낮춰(예: 300~600) 죽은 상대를 몇 분 "
			    "안에 찾으세요."),
	},
	{
		.name = "net.ipv4.tcp_keepalive_intvl",
		.affects = NAMES("ESTABLISHED"),
		.default_value = L("75", "75"),
		.what = L("Seconds between keepalive probes that get no answer.",
			  "응답이 없는 keepalive 프로브 사이의 간격(초)입니다."),
		.advice = L("Together with tcp_keepalive_probes it sets how long detection "
			    "takes after the idle time; TCP_KEEPINTVL sets it per socket.",
			    "tcp_keepalive_probes와 함께, 유휴 시간이 지난 뒤 감지까지 걸리는 "
			    "시간을 정합니다. 소켓별로는 TCP_KEEPINTVL로 설정합니다."),
	},
	{
		.name = "net.ipv4.tcp_keepalive_probes",
		.affects = NAMES("ESTABLISHED"),
		.default_value = L("9", "9"),
		.what = L("Unanswered keepalive probes before the connection is dropped.",
			  "연결을 끊기 전까지 응답 없이 보낼 keepalive 프로브 수입니다."),
		.advice = L("3 to 5 is usually enough; TCP_KEEPCNT sets it per socket.",
			    "보통 3~5면 충분합니다. 소켓별로는 TCP_KEEPCNT로 설정합니다."),
	},
	{
		.name = "net.ipv4.tcp_retries2",
		.affects = NAMES("ESTABLISHED", "FIN_WAIT_1", "CLOSING", "LAST_ACK"),
		.default_value = L("15", "15"),
		.what = L("Retransmissions of unacknowledged data before a connection that a "
			  "process still holds is dropped: about 924 s (15 minutes) with the "
			  "default of 15.",
			  "프로세스가 쥐고 있는 연결에서 확인 응답 없는 데이터를 몇 번 재전송한 뒤 "
			  "연결을 끊을지 정합니다. 기본값 15이면 약 924초(15분)입니다."),
		.advice = L("Prefer TCP_USER_TIMEOUT in the application. Lowering it globally "
			    "(for example to 8, about 100 s) detects dead peers sooner but also "
			    "gives up on long network outages sooner.",
			    "애플리케이션에서 TCP_USER_TIMEOUT을 쓰는 편이 낫습니다. 전역으로 "
			    "낮추면(예: 8이면 약 100초) 죽은 상대를 빨리 찾지만, 긴 네트워크 "
			    "장애도 그만큼 빨리 포기합니다."),
	},
};

static int add_str(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -ENOMEM;
}

/* Adds a string array under key from a NULL-terminated list. */
static int add_names(cJSON *obj, const char *key, const char *const *names)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (!arr)
		return -ENOMEM;
	for (; *names; names++) {
		cJSON *s = cJSON_CreateString(*names);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Adds a string array under key from n localized values. */
static int add_texts(cJSON *obj, const char *key, const char *const (*texts)[LANG_COUNT],
		     size_t n, enum states_lang lang)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateString(texts[i][lang]);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Appends a new object to arr; NULL when memory runs out. */
static cJSON *append_object(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool lang_ok(enum states_lang lang)
{
	return lang == STATES_LANG_EN || lang == STATES_LANG_KO;
}

static const char *lang_code(enum states_lang lang)
{
	return lang == STATES_LANG_KO ? "ko" : "en";
}

/* Fills obj with the explanation of one state; state and lang are already checked. */
static int fill_state(cJSON *obj, int state, enum states_lang lang)
{
	const struct state_info *si = &state_table[state];
	const struct state_text *t = &si->text[lang];

	if (add_str(obj, "state", sock_state_name(state)) < 0 ||
	    !cJSON_AddNumberToObject(obj, "number", state) ||
	    !cJSON_AddBoolToObject(obj, "lingering", sock_state_lingering(state)) ||
	    add_str(obj, "reached_by", roles[si->reached_by].code) < 0 ||
	    add_str(obj, "reached_by_text", roles[si->reached_by].text[lang]) < 0 ||
	    add_str(obj, "title", t->title) < 0 || add_str(obj, "meaning", t->meaning) < 0 ||
	    add_str(obj, "enters_on", t->enters_on) < 0 ||
	    add_str(obj, "leaves_on", t->leaves_on) < 0 ||
	    add_str(obj, "duration_bound", t->duration_bound) < 0 ||
	    add_str(obj, "bounded", si->bounded) < 0)
		return -ENOMEM;
	if (si->max_seconds > 0 ? !cJSON_AddNumberToObject(obj, "max_seconds", si->max_seconds)
				: !cJSON_AddNullToObject(obj, "max_seconds"))
		return -ENOMEM;
	if (add_str(obj, "problem_when", t->problem_when) < 0 ||
	    add_str(obj, "remedy", t->remedy) < 0 || add_str(obj, "kernel", t->kernel) < 0 ||
	    add_names(obj, "settings", si->settings) < 0 ||
	    add_names(obj, "counters", si->counters) < 0 || add_names(obj, "next", si->next) < 0)
		return -ENOMEM;
	return 0;
}

static int add_handshake(cJSON *topics, const char *key, const char *const title[],
			 const char *const text[], const struct hs_step *steps, size_t n,
			 enum states_lang lang)
{
	cJSON *o = cJSON_AddObjectToObject(topics, key);
	cJSON *arr;

	if (!o || add_str(o, "title", title[lang]) < 0 || add_str(o, "text", text[lang]) < 0)
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(o, "steps");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = append_object(arr);

		if (!s || !cJSON_AddNumberToObject(s, "step", (double)(i + 1)) ||
		    add_str(s, "from", steps[i].from) < 0 ||
		    add_str(s, "segment", steps[i].segment) < 0 ||
		    add_str(s, "active_state", steps[i].active_state) < 0 ||
		    add_str(s, "passive_state", steps[i].passive_state) < 0 ||
		    add_str(s, "text", steps[i].text[lang]) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_two_msl(cJSON *topics, enum states_lang lang)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "two_msl");

	if (!o || add_str(o, "title", two_msl_title[lang]) < 0 ||
	    add_str(o, "text", two_msl_text[lang]) < 0 ||
	    add_texts(o, "reasons", two_msl_reasons, ARRAY_LEN(two_msl_reasons), lang) < 0 ||
	    !cJSON_AddNumberToObject(o, "rfc_msl_seconds", 120) ||
	    !cJSON_AddNumberToObject(o, "linux_time_wait_seconds", 60))
		return -ENOMEM;
	return 0;
}

static int add_so_linger(cJSON *topics, enum states_lang lang)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "so_linger");
	cJSON *arr;

	if (!o || add_str(o, "title", linger_title[lang]) < 0 ||
	    add_str(o, "text", linger_text[lang]) < 0)
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(o, "cases");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_LEN(linger_cases); i++) {
		const struct linger_case *lc = &linger_cases[i];
		cJSON *c = append_object(arr);

		if (!c || add_str(c, "setting", lc->setting) < 0 ||
		    add_str(c, "title", lc->title[lang]) < 0 ||
		    add_str(c, "sends", lc->sends) < 0 ||
		    !cJSON_AddBoolToObject(c, "time_wait", lc->time_wait) ||
		    add_str(c, "close", lc->close_call[lang]) < 0 ||
		    add_str(c, "unsent_data", lc->unsent_data[lang]) < 0 ||
		    add_str(c, "advice", lc->advice[lang]) < 0 ||
		    add_names(c, "counters", lc->counters) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_so_reuseaddr(cJSON *topics, enum states_lang lang)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "so_reuseaddr");

	if (!o || add_str(o, "title", reuseaddr_title[lang]) < 0 ||
	    add_str(o, "text", reuseaddr_text[lang]) < 0 ||
	    add_texts(o, "does", reuseaddr_does, ARRAY_LEN(reuseaddr_does), lang) < 0 ||
	    add_texts(o, "does_not", reuseaddr_does_not, ARRAY_LEN(reuseaddr_does_not),
		      lang) < 0 ||
	    add_str(o, "snippet", reuseaddr_snippet) < 0)
		return -ENOMEM;
	return 0;
}

static int add_ephemeral_ports(cJSON *topics, enum states_lang lang)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "ephemeral_ports");

	if (!o || add_str(o, "title", ports_title[lang]) < 0 ||
	    add_str(o, "text", ports_text[lang]) < 0)
		return -ENOMEM;
	return 0;
}

static int add_sysctls(cJSON *topics, enum states_lang lang)
{
	cJSON *arr = cJSON_AddArrayToObject(topics, "sysctls");

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_LEN(sysctls); i++) {
		const struct sysctl_info *sc = &sysctls[i];
		cJSON *o = append_object(arr);

		if (!o || add_str(o, "name", sc->name) < 0 ||
		    add_str(o, "default", sc->default_value[lang]) < 0 ||
		    add_str(o, "what", sc->what[lang]) < 0 ||
		    add_str(o, "advice", sc->advice[lang]) < 0 ||
		    add_names(o, "affects", sc->affects) < 0)
			return -ENOMEM;
	}
	return 0;
}

int states_lang_parse(const char *s)
{
	static const char *const codes[LANG_COUNT] = {[STATES_LANG_EN] = "en",
						      [STATES_LANG_KO] = "ko"};

	if (!s)
		return -EINVAL;
	for (int i = 0; i < LANG_COUNT; i++) {
		const char *c = codes[i];
		size_t k = 0;

		/* ASCII folding only: strcasecmp would depend on the locale. */
		while (c[k] && (s[k] | 0x20) == c[k])
			k++;
		if (!c[k] && !s[k])
			return i;
	}
	return -EINVAL;
}

cJSON *states_one(int state, enum states_lang lang)
{
	cJSON *obj;

	if (state <= 0 || state >= SOCK_STATE_MAX || !lang_ok(lang))
		return NULL;
	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	if (fill_state(obj, state, lang) < 0) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

cJSON *states_all(enum states_lang lang)
{
	cJSON *root, *arr, *topics;

	if (!lang_ok(lang))
		return NULL;
	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	if (add_str(root, "lang", lang_code(lang)) < 0)
		goto error;
	arr = cJSON_AddArrayToObject(root, "states");
	if (!arr)
		goto error;
	for (size_t i = 0; i < ARRAY_LEN(state_order); i++) {
		cJSON *o = append_object(arr);

		if (!o || fill_state(o, state_order[i], lang) < 0)
			goto error;
	}
	topics = cJSON_AddObjectToObject(root, "topics");
	if (!topics ||
	    add_handshake(topics, "four_way_close", four_way_title, four_way_text, close_steps,
			  ARRAY_LEN(close_steps), lang) < 0 ||
	    add_handshake(topics, "three_way_open", three_way_title, three_way_text, open_steps,
			  ARRAY_LEN(open_steps), lang) < 0 ||
	    add_two_msl(topics, lang) < 0 || add_so_linger(topics, lang) < 0 ||
	    add_so_reuseaddr(topics, lang) < 0 || add_ephemeral_ports(topics, lang) < 0 ||
	    add_sysctls(topics, lang) < 0)
		goto error;
	return root;

error:
	cJSON_Delete(root);
	return NULL;
}
