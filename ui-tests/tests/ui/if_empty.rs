use lwt::lwt_if;

fn main() {
    let _: lwt::Promise<()> = lwt_if!();
}
