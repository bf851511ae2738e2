use lwt::lwt_match;

fn main() {
    let _: lwt::Promise<i32> = lwt_match!();
}
