// SPDX-License-Identifier: BSL-1.0
// A move-only type-erased callable: stored completion handlers may be move-only (coroutines, futures).
#pragma once

#include <memory>
#include <utility>

namespace tlvcast::core::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    unique_function() = default;
    template <class F>
    unique_function(F f) : impl_(std::make_unique<model<F>>(std::move(f)))
    {
    }
    explicit operator bool() const noexcept { return impl_ != nullptr; }
    R operator()(Args... args)
    {
        auto impl = std::move(impl_); // one-shot: a completion handler runs once
        return impl->call(std::forward<Args>(args)...);
    }

private:
    struct concept_t {
        virtual ~concept_t() = default;
        virtual R call(Args... args) = 0;
    };
    template <class F>
    struct model final : concept_t {
        explicit model(F f) : f_(std::move(f)) {}
        R call(Args... args) override { return f_(std::forward<Args>(args)...); }
        F f_;
    };
    std::unique_ptr<concept_t> impl_;
};

} // namespace tlvcast::core::detail
