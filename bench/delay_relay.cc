#include "bench/delay_relay.h"

#include <asio.hpp>

#include <cstdio>
#include <deque>
#include <thread>
#include <vector>

namespace atls::bench {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// kReadSize is the most one read takes; kMaxQueued pauses reading while a
// direction holds this much (the benchmark's connections carry a few KiB).
constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kMaxQueued = 4 * 1024 * 1024;

void set_nodelay(tcp::socket& s) {
  asio::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
}

class Pipe;

// Line is one direction of a Pipe: reads |from|, holds each chunk until it
// is due, writes it to |to|.
class Line {
 public:
  Line(Pipe& pipe, tcp::socket& from, tcp::socket& to, Clock::duration delay)
      : m_pipe(pipe), m_from(from), m_to(to), m_delay(delay), m_timer(from.get_executor()) {}

  void start_reading();
  // destination_ready: the socket written to is connected (the upstream
  // connection completes after the client's may already have sent bytes).
  void destination_ready() {
    m_to_ready = true;
    schedule();
  }
  bool done() const { return m_eof_delivered; }
  void cancel() { m_timer.cancel(); }

 private:
  struct Chunk {
    Clock::time_point due;
    std::vector<std::uint8_t> bytes;  // empty: the EOF
  };

  void schedule();
  void write_front();

  Pipe& m_pipe;
  tcp::socket& m_from;
  tcp::socket& m_to;
  Clock::duration m_delay;
  asio::steady_timer m_timer;
  std::deque<Chunk> m_queue;
  std::size_t m_queued = 0;
  std::vector<std::uint8_t> m_buf = std::vector<std::uint8_t>(kReadSize);
  bool m_reading = false;
  bool m_read_eof = false;
  bool m_to_ready = false;
  bool m_writing = false;
  bool m_timer_armed = false;
  bool m_eof_delivered = false;
};

// Pipe is one relayed connection: the accepted socket, the upstream one and
// a Line each way. Handlers hold it alive through shared_from_this.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(tcp::socket client, Clock::duration delay)
      : m_client(std::move(client)),
        m_upstream(m_client.get_executor()),
        m_up(*this, m_client, m_upstream, delay),
        m_down(*this, m_upstream, m_client, delay) {}

  void start(const tcp::endpoint& target) {
    set_nodelay(m_client);
    m_up.start_reading();
    m_upstream.async_connect(target, [self = shared_from_this()](const asio::error_code& ec) {
      if (ec) {
        self->close();
        return;
      }
      set_nodelay(self->m_upstream);
      self->m_up.destination_ready();
      self->m_down.destination_ready();
      self->m_down.start_reading();
    });
  }

  void close() {
    if (m_closed) {
      return;
    }
    m_closed = true;
    asio::error_code ec;
    m_client.close(ec);
    m_upstream.close(ec);
    m_up.cancel();
    m_down.cancel();
  }

  bool closed() const { return m_closed; }

  // line_done: a direction delivered its EOF; once both have, the pipe ends.
  void line_done() {
    if (m_up.done() && m_down.done()) {
      close();
    }
  }

 private:
  tcp::socket m_client;
  tcp::socket m_upstream;
  Line m_up;    // client -> target
  Line m_down;  // target -> client
  bool m_closed = false;
};

void Line::start_reading() {
  if (m_reading || m_read_eof || m_pipe.closed() || m_queued >= kMaxQueued) {
    return;
  }
  m_reading = true;
  m_from.async_read_some(asio::buffer(m_buf), [this, self = m_pipe.shared_from_this()](
                                                  const asio::error_code& ec, std::size_t n) {
    m_reading = false;
    if (m_pipe.closed()) {
      return;
    }
    const auto due = Clock::now() + m_delay;
    if (ec == asio::error::eof) {
      m_read_eof = true;
      m_queue.push_back({due, {}});
    } else if (ec) {
      m_pipe.close();
      return;
    } else {
      m_queue.push_back({due, std::vector<std::uint8_t>(m_buf.begin(), m_buf.begin() + n)});
      m_queued += n;
    }
    schedule();
    start_reading();
  });
}

void Line::schedule() {
  if (m_pipe.closed() || !m_to_ready || m_writing || m_timer_armed || m_queue.empty()) {
    return;
  }
  if (m_queue.front().due <= Clock::now()) {
    write_front();
    return;
  }
  m_timer_armed = true;
  m_timer.expires_at(m_queue.front().due);
  m_timer.async_wait([this, self = m_pipe.shared_from_this()](const asio::error_code&) {
    m_timer_armed = false;
    schedule();
  });
}

void Line::write_front() {
  Chunk& c = m_queue.front();
  if (c.bytes.empty()) {  // the EOF, after everything before it
    asio::error_code ec;
    m_to.shutdown(tcp::socket::shutdown_send, ec);
    m_queue.pop_front();
    m_eof_delivered = true;
    m_pipe.line_done();
    return;
  }
  m_writing = true;
  asio::async_write(
      m_to, asio::buffer(c.bytes),
      [this, self = m_pipe.shared_from_this()](const asio::error_code& ec, std::size_t) {
        m_writing = false;
        if (ec || m_pipe.closed()) {
          m_pipe.close();
          return;
        }
        m_queued -= m_queue.front().bytes.size();
        m_queue.pop_front();
        start_reading();  // if it was paused at kMaxQueued
        schedule();
      });
}

}  // namespace

struct DelayRelay::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  tcp::endpoint target;
  Clock::duration delay{};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](const asio::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) {
        return;
      }
      if (!ec) {
        std::make_shared<Pipe>(std::move(s), delay)->start(target);
      }
      accept();
    });
  }
};

DelayRelay::DelayRelay(std::unique_ptr<Impl> impl) : m(std::move(impl)) {}

DelayRelay::~DelayRelay() {
  m->io.stop();
  if (m->thread.joinable()) {
    m->thread.join();
  }
  // The io_context's destructor frees the pending handlers and with them
  // every Pipe and its sockets.
}

std::uint16_t DelayRelay::port() const {
  return m->acceptor.local_endpoint().port();
}

Result<std::unique_ptr<DelayRelay>> DelayRelay::start(std::uint16_t target,
                                                      std::chrono::microseconds one_way) {
  auto impl = std::make_unique<Impl>();
  const auto loopback = asio::ip::address_v4::loopback();
  impl->target = tcp::endpoint(loopback, target);
  impl->delay = one_way;
  asio::error_code ec;
  impl->acceptor.open(tcp::v4(), ec);
  if (!ec) {
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(tcp::endpoint(loopback, 0), ec);
  }
  if (!ec) {
    impl->acceptor.listen(128, ec);
  }
  if (ec) {
    return Error{ErrorCode::IoError, "delay relay: listen: " + ec.message()};
  }
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<DelayRelay>(new DelayRelay(std::move(impl)));
}

}  // namespace atls::bench
