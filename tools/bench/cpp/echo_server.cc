// bench.v1.Echo on gRPC C++ (callback API, default settings): the C++ peer of
// tools/bench/run. Usage: echo-server-cpp --port N  (N = 0 picks a free port).
// Prints "listening on PORT" once the server accepts connections.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "bench/v1/echo.grpc.pb.h"

using bench::v1::Echo;
using bench::v1::EchoRequest;
using bench::v1::EchoResponse;

namespace {

// Writes `count` responses, each carrying the request's payload, one at a time.
class StreamWriter final : public grpc::ServerWriteReactor<EchoResponse> {
 public:
  StreamWriter(const EchoRequest* request) : remaining_(request->count()) {
    response_.set_payload(request->payload());
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (remaining_ <= 0) {
      Finish(grpc::Status::OK);
      return;
    }
    --remaining_;
    StartWrite(&response_);
  }
  EchoResponse response_;
  int64_t remaining_;
};

// Reads every request; answers with the last payload.
class StreamReader final : public grpc::ServerReadReactor<EchoRequest> {
 public:
  explicit StreamReader(EchoResponse* response) : response_(response) { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (ok) {
      last_.swap(*request_.mutable_payload());
      StartRead(&request_);
    } else {
      response_->set_payload(std::move(last_));
      Finish(grpc::Status::OK);
    }
  }
  void OnDone() override { delete this; }

 private:
  EchoResponse* response_;
  EchoRequest request_;
  std::string last_;
};

// Answers each request with its payload, reading the next one after the write completes.
class Echoer final : public grpc::ServerBidiReactor<EchoRequest, EchoResponse> {
 public:
  Echoer() { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.mutable_payload()->swap(*request_.mutable_payload());
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  EchoRequest request_;
  EchoResponse response_;
};

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const EchoRequest* request,
                                  EchoResponse* response) override {
    response->set_payload(request->payload());
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerWriteReactor<EchoResponse>* ServerStream(grpc::CallbackServerContext*,
                                                        const EchoRequest* request) override {
    return new StreamWriter(request);
  }
  grpc::ServerReadReactor<EchoRequest>* ClientStream(grpc::CallbackServerContext*,
                                                      EchoResponse* response) override {
    return new StreamReader(response);
  }
  grpc::ServerBidiReactor<EchoRequest, EchoResponse>* Bidi(grpc::CallbackServerContext*) override {
    return new Echoer();
  }
};

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (std::strncmp(argv[i], "--port=", 7) == 0) {
      port = std::atoi(argv[i] + 7);
    } else {
      std::fprintf(stderr, "usage: %s --port N\n", argv[0]);
      return 2;
    }
  }
  if (port < 0) {
    std::fprintf(stderr, "usage: %s --port N\n", argv[0]);
    return 2;
  }

  EchoService service;
  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &selected);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    std::fprintf(stderr, "echo-server-cpp: could not listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::printf("listening on %d\n", selected);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
